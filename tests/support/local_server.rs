//! Stand-in servers on 127.0.0.1 for the tests and the benchmarks (SMS platforms, an object
//! store, a bare handler to measure against).

use actix_web::dev::ServerHandle;
use actix_web::web::ServiceConfig;

/// Serves `routes` on a free port of 127.0.0.1 with `workers` threads, on the running Tokio
/// runtime. Answers the port and the handle that stops it.
pub fn serve<F>(workers: usize, routes: F) -> (u16, ServerHandle)
where
    F: Fn(&mut ServiceConfig) + Send + Clone + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    let server =
        actix_web::HttpServer::new(move || actix_web::App::new().configure(routes.clone()))
            .workers(workers)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, handle)
}
