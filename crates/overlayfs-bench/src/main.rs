//! The benchmark's native loop: the core's own `mount` and `unmount`, back to back on one
//! thread, with no Node and no thread hop. It is the limit the package is measured against.
//!
//! ```text
//! overlayfs-bench serve CASES   read "<case number> <cycles>" lines from stdin; answer each
//!                               with one JSON line of cycle times ("reset" forgets every
//!                               time so far, after a warm-up); at the end of stdin, print
//!                               the medians of every case as one JSON line
//! overlayfs-bench run CASES [ROUNDS] [CYCLES]
//!                               take ROUNDS rounds of CYCLES cycles of every case in turn
//!                               (for profiling without Node), then print the medians
//! ```
//!
//! CASES is a file of requests as `cases.rs` reads them. Run it as root in a private mount
//! namespace: it mounts and unmounts on the targets the file names.
#![deny(clippy::all)]

mod cases;
mod samples;

use std::io::{BufRead, Write};
use std::process::ExitCode;

use cases::Case;
use samples::{batch_json, Samples};

fn main() -> ExitCode {
  let args: Vec<String> = std::env::args().skip(1).collect();
  match run(&args) {
    Ok(()) => ExitCode::SUCCESS,
    Err(msg) => {
      eprintln!("overlayfs-bench: {msg}");
      ExitCode::FAILURE
    }
  }
}

fn run(args: &[String]) -> Result<(), String> {
  let usage = "usage: overlayfs-bench serve CASES | run CASES [ROUNDS] [CYCLES]";
  let (Some(mode), Some(file)) = (args.first(), args.get(1)) else {
    return Err(usage.to_string());
  };
  let text = std::fs::read_to_string(file).map_err(|e| format!("reading {file}: {e}"))?;
  let cases = cases::parse(&text).map_err(|e| format!("{file}: {e}"))?;
  let number = |i: usize, default: usize| -> Result<usize, String> {
    args.get(i).map_or(Ok(default), |a| {
      a.parse().map_err(|_| format!("not a number: {a}"))
    })
  };
  match mode.as_str() {
    "serve" => serve(&cases),
    "run" => rounds(&cases, number(2, 20)?, number(3, 5)?),
    _ => Err(usage.to_string()),
  }
}

/// Answers the Node side's requests for batches, so that it can interleave this loop with
/// its own approaches round by round.
fn serve(cases: &[Case]) -> Result<(), String> {
  let mut samples = Samples::default();
  let mut out = std::io::stdout().lock();
  for line in std::io::stdin().lock().lines() {
    let line = line.map_err(|e| format!("reading stdin: {e}"))?;
    if line == "reset" {
      samples = Samples::default();
      writeln!(out, "{{}}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
      continue;
    }
    let (case, cycles) = line
      .split_once(' ')
      .ok_or_else(|| format!("bad command '{line}'"))?;
    let case = case.parse::<usize>().ok().and_then(|i| cases.get(i));
    let case = case.ok_or_else(|| format!("no such case in '{line}'"))?;
    let cycles = cycles
      .parse()
      .map_err(|_| format!("bad cycle count in '{line}'"))?;
    let times = samples.take(&case.id, &case.request, cycles)?;
    writeln!(out, "{}", batch_json(&case.id, times)).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
  }
  writeln!(out, "{}", samples.summary_json()).map_err(|e| e.to_string())
}

/// Interleaves every case round by round on its own, starting each round one case later.
fn rounds(cases: &[Case], rounds: usize, cycles: usize) -> Result<(), String> {
  let mut samples = Samples::default();
  for round in 0..rounds {
    for i in 0..cases.len() {
      let case = &cases[(round + i) % cases.len()];
      samples.take(&case.id, &case.request, cycles)?;
    }
  }
  println!("{}", samples.summary_json());
  Ok(())
}
