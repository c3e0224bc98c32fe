//! Reading the benchmark's cases: the requests the package's planner made, one per case.
//!
//! The file is written by the Node side of the benchmark, one field a line:
//!
//! ```text
//! case fd-32
//! strategy fd
//! cwd /tmp/ovl-bench-x/overlay2
//! target /tmp/ovl-bench-x/merged
//! lower /tmp/ovl-bench-x/overlay2/<digest>/diff
//! upper /tmp/ovl-bench-x/upper
//! work /tmp/ovl-bench-x/work
//! option index=off
//! data lowerdir=...,upperdir=...,workdir=...
//! stacking 0
//! end
//! ```
//!
//! NOTE: a value runs to the end of its line, so no path may hold a newline; the benchmark's
//! own layer sets never do.

use std::path::PathBuf;

use overlayfs_core::{MountOption, MountRequest, Strategy};

/// One measured case: a name and the request the package would send to the core.
pub struct Case {
  pub id: String,
  pub request: MountRequest,
}

/// Parses every case of `text`; the error names the line that is wrong.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
  let mut cases = Vec::new();
  let mut current: Option<Case> = None;
  for (n, line) in text.lines().enumerate() {
    let (key, value) = line.split_once(' ').unwrap_or((line, ""));
    let at = |msg: &str| format!("line {}: {msg}: '{line}'", n + 1);
    if key == "case" {
      if current.is_some() {
        return Err(at("case before the previous one's end"));
      }
      current = Some(Case {
        id: value.to_string(),
        request: empty_request(),
      });
      continue;
    }
    let Some(case) = current.as_mut() else {
      return Err(at("field outside a case"));
    };
    let req = &mut case.request;
    match key {
      "strategy" => req.strategy = Strategy::parse(value).ok_or_else(|| at("unknown strategy"))?,
      "cwd" => req.cwd = Some(PathBuf::from(value)),
      "target" => req.target = PathBuf::from(value),
      "lower" => req.lower.push(PathBuf::from(value)),
      "datadir" => req.data_layers.push(PathBuf::from(value)),
      "upper" => req.upper = Some(PathBuf::from(value)),
      "work" => req.work = Some(PathBuf::from(value)),
      "option" => req.options.push(MountOption::parse(value)),
      "data" => req.data = Some(value.to_string()),
      "stacking" => req.allow_stacking = value == "1",
      "end" => cases.extend(current.take()),
      _ => return Err(at("unknown field")),
    }
  }
  if current.is_some() {
    return Err("the last case has no end".to_string());
  }
  Ok(cases)
}

fn empty_request() -> MountRequest {
  MountRequest {
    strategy: Strategy::Fd,
    cwd: None,
    target: PathBuf::new(),
    lower: Vec::new(),
    data_layers: Vec::new(),
    upper: None,
    work: None,
    options: Vec::new(),
    data: None,
    allow_stacking: false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn parses_every_field_of_a_case() {
    let text = "case relative-2\nstrategy relative\ncwd /s\ntarget /t\nlower a/diff\n\
                lower b/diff\nupper /u\nwork /w\noption index=off\noption userxattr\n\
                data lowerdir=a/diff:b/diff,upperdir=/u,workdir=/w\nstacking 0\nend\n";
    let cases = parse(text).unwrap();
    assert_eq!(cases.len(), 1);
    let req = &cases[0].request;
    assert_eq!(cases[0].id, "relative-2");
    assert_eq!(req.strategy, Strategy::Relative);
    assert_eq!(
      req.lower,
      [PathBuf::from("a/diff"), PathBuf::from("b/diff")]
    );
    assert_eq!(req.options[0].to_data(), "index=off");
    assert_eq!(req.options[1].to_data(), "userxattr");
    assert!(req
      .data
      .as_deref()
      .unwrap()
      .starts_with("lowerdir=a/diff:b/diff,"));
  }

  #[test]
  fn names_the_line_that_is_wrong() {
    let err = parse("case x\nstrategy nope\nend\n").err().unwrap();
    assert!(err.starts_with("line 2: unknown strategy"), "{err}");
    assert!(parse("case x\n").is_err());
  }
}
