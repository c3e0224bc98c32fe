//! What the caller asks the mount thread to do, already planned and validated.

use std::ffi::CStr;
use std::fmt;
use std::path::PathBuf;

/// How the kernel is handed the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
  /// Legacy `mount(2)` with absolute paths in one page of mount data.
  Absolute,
  /// Legacy `mount(2)` from the layers' common directory, with relative paths.
  Relative,
  /// Legacy `mount(2)` from `/proc/self/fd`, naming every layer by its descriptor number.
  ProcFd,
  /// New mount API, one `fsconfig(FSCONFIG_SET_STRING, "lowerdir+")` per layer (Linux 6.8+).
  LowerdirPlus,
  /// New mount API, one `fsconfig(FSCONFIG_SET_FD, "lowerdir+")` per layer (Linux 6.13+).
  Fd,
}

impl Strategy {
  /// The strategy's name as callers spell it.
  pub fn as_str(self) -> &'static str {
    match self {
      Strategy::Absolute => "absolute",
      Strategy::Relative => "relative",
      Strategy::ProcFd => "procfd",
      Strategy::LowerdirPlus => "lowerdir+",
      Strategy::Fd => "fd",
    }
  }

  /// Parses a strategy name; `None` for a name that does not exist.
  pub fn parse(name: &str) -> Option<Strategy> {
    [
      Strategy::Absolute,
      Strategy::Relative,
      Strategy::ProcFd,
      Strategy::LowerdirPlus,
      Strategy::Fd,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
  }
}

/// What one directory is to the overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
  /// The n-th lower layer, counting from the top.
  Lower(usize),
  /// The n-th data-only lower layer.
  Data(usize),
  Upper,
  Work,
  Target,
  /// The layers' common directory, which the mount thread enters.
  CommonDir,
}

impl Role {
  /// The key that names this role in `fsconfig(2)`.
  pub fn fsconfig_key(self) -> &'static CStr {
    match self {
      Role::Lower(_) => c"lowerdir+",
      Role::Data(_) => c"datadir+",
      Role::Upper => c"upperdir",
      Role::Work => c"workdir",
      Role::Target => c"target",
      Role::CommonDir => c"cwd",
    }
  }
}

impl fmt::Display for Role {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      Role::Lower(i) => write!(f, "lowerdir {i}"),
      Role::Data(i) => write!(f, "datadir {i}"),
      Role::Upper => f.write_str("upperdir"),
      Role::Work => f.write_str("workdir"),
      Role::Target => f.write_str("target"),
      Role::CommonDir => f.write_str("the layers' common directory"),
    }
  }
}

/// One extra overlay option: a flag (`userxattr`) or a key with a value (`index=off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOption {
  pub key: String,
  pub value: Option<String>,
}

impl MountOption {
  /// The option `text` spells: `key` for a flag, `key=value` (split at the first `=`).
  pub fn parse(text: &str) -> MountOption {
    match text.split_once('=') {
      Some((key, value)) => MountOption {
        key: key.to_string(),
        value: Some(value.to_string()),
      },
      None => MountOption {
        key: text.to_string(),
        value: None,
      },
    }
  }

  /// The option as legacy mount data spells it.
  pub fn to_data(&self) -> String {
    match &self.value {
      Some(value) => format!("{}={value}", self.key),
      None => self.key.clone(),
    }
  }
}

/// A planned mount. Paths are as the kernel will see them: relative ones resolve against
/// `cwd`, which the mount thread enters first.
#[derive(Debug, Clone)]
pub struct MountRequest {
  pub strategy: Strategy,
  /// The directory the mount thread enters before resolving any relative path.
  pub cwd: Option<PathBuf>,
  /// Where the overlay is mounted; absolute.
  pub target: PathBuf,
  /// Lower layers, top-most first (the kernel's lowerdir order).
  pub lower: Vec<PathBuf>,
  /// Data-only lower layers, below every regular lower layer.
  pub data_layers: Vec<PathBuf>,
  pub upper: Option<PathBuf>,
  pub work: Option<PathBuf>,
  /// Extra overlay options, already validated.
  pub options: Vec<MountOption>,
  /// The exact mount data for `Absolute` and `Relative`, built by the planner.
  pub data: Option<String>,
  /// Mount even if the target is already a mount point, stacking on it.
  pub allow_stacking: bool,
}

impl MountRequest {
  /// Every layer with the name of its role, in the order the kernel stacks them.
  pub fn roles(&self) -> Vec<(Role, &PathBuf)> {
    let lower = self
      .lower
      .iter()
      .enumerate()
      .map(|(i, p)| (Role::Lower(i), p));
    let data = self
      .data_layers
      .iter()
      .enumerate()
      .map(|(i, p)| (Role::Data(i), p));
    let upper = self.upper.iter().map(|p| (Role::Upper, p));
    let work = self.work.iter().map(|p| (Role::Work, p));
    lower.chain(data).chain(upper).chain(work).collect()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn strategy_names_round_trip() {
    for name in ["absolute", "relative", "procfd", "lowerdir+", "fd"] {
      assert_eq!(Strategy::parse(name).map(Strategy::as_str), Some(name));
    }
    assert_eq!(Strategy::parse("lowerdir"), None);
  }

  #[test]
  fn option_texts_round_trip() {
    for text in [
      "userxattr",
      "index=off",
      "redirect_dir=nofollow",
      "uuid=",
      "a=b=c",
    ] {
      assert_eq!(MountOption::parse(text).to_data(), text);
    }
    let split = MountOption::parse("a=b=c");
    assert_eq!(
      (split.key.as_str(), split.value.as_deref()),
      ("a", Some("b=c"))
    );
    assert_eq!(MountOption::parse("volatile").value, None);
  }
}
