//! The `fixline` command: serve, migrate, seed-demo, user add, simulate.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use fixline::api::admin::{insert_user, validate_new_user};
use fixline::app::App;
use fixline::clock::{Clock, SystemClock};
use fixline::config::Config;
use fixline::db::{self, DatabaseUrl, Db};
use fixline::demo::{self, Seeded};
use fixline::store::{regions, users};

#[derive(Parser)]
#[command(
    name = "fixline",
    version,
    about = "Field-repair backend: tickets, on-duty routing, SLA clocks, district scores"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve {
        /// Seed the demo city first when the database has no users.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo city (3 regions, 12 districts, 37 accounts) with its organisation and print
    /// the passwords once.
    SeedDemo {
        /// Give every demo account this password instead of random ones.
        #[arg(long, env = "FIXLINE_DEMO_PASSWORD")]
        password: Option<String>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Play a day of calls, repairs and callbacks against a running test server (started with
    /// FIXLINE_TEST_CLOCK=1 over the demo city) and check the counts against its monthly report.
    Simulate(SimulateArgs),
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// The server to drive.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Password of the demo accounts.
    #[arg(long, env = "FIXLINE_DEMO_PASSWORD", hide_env_values = true)]
    password: String,
    /// Local day to play (YYYY-MM-DD); by default the 10th of the current month.
    #[arg(long)]
    day: Option<chrono::NaiveDate>,
    /// Calls over the day, arriving as a Poisson process.
    #[arg(long, default_value_t = 300)]
    calls: u32,
    /// Extra calls in a storm from 14:00, all in one district (e.g. 5000 after a cable cut).
    #[arg(long, default_value_t = 0)]
    storm_calls: u32,
    #[arg(long, default_value_t = 10)]
    storm_minutes: u32,
    #[arg(long, default_value = "ZJG-C-02")]
    storm_district: String,
    /// Percent of calls that are installations.
    #[arg(long, default_value_t = 20)]
    install_pct: u32,
    /// Percent of tickets acknowledged after the 20 minutes.
    #[arg(long, default_value_t = 10)]
    late_contact_pct: u32,
    /// Percent of visits that arrive after the appointment.
    #[arg(long, default_value_t = 10)]
    late_arrival_pct: u32,
    /// Percent of tickets finished after the promise.
    #[arg(long, default_value_t = 5)]
    late_resolve_pct: u32,
    /// Percent of customers who ask to postpone.
    #[arg(long, default_value_t = 5)]
    postpone_pct: u32,
    /// Percent of callbacks nobody answers.
    #[arg(long, default_value_t = 10)]
    unreachable_pct: u32,
    /// Percent of reached customers who are unsatisfied.
    #[arg(long, default_value_t = 5)]
    unsatisfied_pct: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints a generated password when none is given.
    Add {
        #[arg(long)]
        username: String,
        /// agent, dispatcher, technician, account_manager, manager or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Region code (repeat for several). Every role but admin needs one.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Read from FIXLINE_USER_PASSWORD to keep it out of the shell history.
        #[arg(long, env = "FIXLINE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fixline: {e}");
            return ExitCode::from(2);
        }
    };
    fixline::telemetry::init_logging(&config.log);
    let result = match cli.command {
        Command::Serve { demo } => serve(config, demo),
        Command::Migrate => migrate(&config),
        Command::SeedDemo { password } => {
            open(&config).and_then(|db| seed_demo(&db, password.as_deref()).map(|_| ()))
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    name,
                    phone,
                    regions,
                    password,
                },
        } => open(&config)
            .and_then(|db| user_add(&db, username, role, name, phone, regions, password)),
        Command::Simulate(args) => simulate(&config, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixline: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn simulate(config: &Config, a: SimulateArgs) -> anyhow::Result<()> {
    use chrono::Datelike;
    let today = chrono::Utc::now().with_timezone(&config.tz).date_naive();
    let options = fixline::simulate::Options {
        url: a.url,
        password: a.password,
        day: a
            .day
            .unwrap_or_else(|| today.with_day(10).expect("the 10th exists")),
        calls: a.calls,
        storm_calls: a.storm_calls,
        storm_minutes: a.storm_minutes,
        storm_district: a.storm_district,
        install_pct: a.install_pct,
        late_contact_pct: a.late_contact_pct,
        late_arrival_pct: a.late_arrival_pct,
        late_resolve_pct: a.late_resolve_pct,
        postpone_pct: a.postpone_pct,
        unreachable_pct: a.unreachable_pct,
        unsatisfied_pct: a.unsatisfied_pct,
        seed: a.seed,
        tz: config.tz,
    };
    let summary = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fixline::simulate::run(&options))?;
    if !summary.mismatches.is_empty() {
        anyhow::bail!(
            "{} counts differ from the server's report",
            summary.mismatches.len()
        );
    }
    Ok(())
}

fn open(config: &Config) -> anyhow::Result<Db> {
    Db::open(&config.database_url, 2)
        .with_context(|| format!("opening {}", db::describe(&config.database_url)))
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let mut conn = url
        .connect()
        .with_context(|| format!("connecting to {}", db::describe(&config.database_url)))?;
    let applied = db::migrate(&mut conn)?;
    if applied.is_empty() {
        println!("{}: schema is current", db::describe(&config.database_url));
    } else {
        println!(
            "{}: applied {}",
            db::describe(&config.database_url),
            applied.join(", ")
        );
    }
    Ok(())
}

/// Loads the demo city with its organisation; answers whether it was loaded now.
fn seed_demo(db: &Db, password: Option<&str>) -> anyhow::Result<bool> {
    let now = SystemClock.now_naive();
    match demo::seed(db, now, password)? {
        Seeded::AlreadyPresent => {
            println!("The demo city is already loaded; nothing changed.");
            Ok(false)
        }
        Seeded::Created(accounts) => {
            demo::organise(db, now)?;
            println!(
                "Demo city loaded: 3 regions, 12 grid districts, {} accounts.",
                accounts.len()
            );
            println!("Passwords are shown this once:\n");
            println!(
                "{:<12} {:<16} {:<18} {:<16} password",
                "username", "role", "name", "phone"
            );
            for a in accounts {
                println!(
                    "{:<12} {:<16} {:<18} {:<16} {}",
                    a.username,
                    a.role,
                    a.display_name,
                    a.phone.unwrap_or_default(),
                    a.password
                );
            }
            Ok(true)
        }
    }
}

fn user_add(
    db: &Db,
    username: String,
    role: String,
    name: Option<String>,
    phone: Option<String>,
    region_codes: Vec<String>,
    password: Option<String>,
) -> anyhow::Result<()> {
    let generated = password.is_none();
    let password = password.unwrap_or_else(fixline::auth::secret::random_password);
    let name = name.unwrap_or_else(|| username.clone());
    let now = SystemClock.now_naive();
    let user = db.write_blocking(|conn| -> anyhow::Result<users::User> {
        let mut region_ids = Vec::new();
        for code in &region_codes {
            let r = regions::find_by_code(conn, code)?
                .ok_or_else(|| anyhow::anyhow!("no region has code {code}"))?;
            region_ids.push(r.id);
        }
        let valid = validate_new_user(
            &username,
            &name,
            &role,
            &password,
            phone.as_deref(),
            region_ids,
            now,
            fixline::auth::password::hash,
        )?;
        insert_user(conn, &valid).map_err(|e| anyhow::anyhow!("{}", e.detail))
    })?;
    println!("created {} ({}) id {}", user.username, user.role, user.id);
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut seeded = false;
        if demo {
            let db = {
                let c = config.clone();
                tokio::task::spawn_blocking(move || open(&c)).await??
            };
            let empty = {
                let db = db.clone();
                tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
                    Ok(users::count(&mut *db.conn()?)? == 0)
                })
                .await??
            };
            if empty {
                let password = std::env::var("FIXLINE_DEMO_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty());
                seeded =
                    tokio::task::spawn_blocking(move || seed_demo(&db, password.as_deref()))
                        .await??;
            }
        }
        let listen = config.listen.clone();
        let where_ = db::describe(&config.database_url);
        let app = App::build(config).await?;
        if seeded {
            let holders = demo::first_calls(&app.state()).await?;
            println!(
                "The demo's first calls are on the board; their technicians: {} (the phone app is at /app/).",
                holders.join(", ")
            );
        }
        let handle = app.handle();
        tracing::info!("fixline serving on http://{listen} with {where_}");
        println!("fixline serving on http://{listen} with {where_}");
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        app.run_until_stopped().await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
