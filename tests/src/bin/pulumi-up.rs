//! Times `pulumi up` of a new user's stack as the real CLI runs it, on the stand-in engine: each
//! `pulumi up` is a preview and then an update, and each run of the program is `cargo run` in
//! `infra/`, as Pulumi Gestalt's language host starts it. The first `pulumi up` in a fresh
//! checkout compiles the program and builds the Lambda zip; the second finds both built.
//!
//! `pulumi-up CHECKOUT` (see `tests/bench/pulumi-up.sh`, which makes the fresh checkout).

use std::path::PathBuf;
use std::time::Duration;

use relay_tests::deploy::{assert_ok, new_user};
use relay_tests::engine::{Launch, Stack};

fn main() {
    let checkout = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: pulumi-up CHECKOUT (a checkout of this repository)"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let program = |preview| new_user(Launch::CargoRun, checkout.clone(), preview);
    let mut stack = Stack::default();
    println!("| `pulumi up` | step | first resource registered | program ended | resources |");
    println!("|---|---|---:|---:|---:|");
    for attempt in ["first", "second"] {
        let mut total = Duration::ZERO;
        for (step, preview) in [("preview", true), ("update", false)] {
            let run = runtime.block_on(stack.run(&program(preview)));
            assert_ok(&run);
            println!(
                "| {attempt} | {step} | {} | {} | {} |",
                seconds(total + run.first_registration.expect("a resource was registered")),
                seconds(total + run.elapsed),
                run.registrations.len()
            );
            total += run.elapsed;
        }
        println!("| {attempt} | whole `pulumi up` | | {} | |", seconds(total));
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
