# Multi-stage build: compile in the Rust image, run on slim Debian with only libpq and CA roots.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY web ./web
COPY benches ./benches
RUN cargo build --release --locked --bin fixline

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/fixline --create-home fixline
COPY --from=build /src/target/release/fixline /usr/local/bin/fixline
USER fixline
WORKDIR /var/lib/fixline
ENV FIXLINE_LISTEN=0.0.0.0:8080 \
    FIXLINE_DATA_DIR=/var/lib/fixline \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
ENTRYPOINT ["fixline"]
CMD ["serve"]
