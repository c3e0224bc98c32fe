//! What the core's integration tests share: a private mount namespace per test, the
//! strategies the running kernel has, and a store of layers that removes itself.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use overlayfs_core::{features, unmount, MountRequest, Strategy};

/// Runs `test` on a new thread in a private mount namespace of its own, so that whatever
/// the test mounts dies with that thread, even if the test fails.
pub fn in_private_namespace(test: impl FnOnce() + Send + 'static) {
  std::thread::spawn(move || {
    unshare(CloneFlags::CLONE_NEWNS).expect("unshare(CLONE_NEWNS): these tests need root");
    let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>).expect("making / private");
    test();
  })
  .join()
  .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// `legacy` and then the new-API strategies the running kernel has.
pub fn with_new_api(legacy: &[Strategy]) -> Vec<Strategy> {
  let f = features();
  let mut strategies = legacy.to_vec();
  if f.lowerdir_plus {
    strategies.push(Strategy::LowerdirPlus);
  }
  if f.fd_layers {
    strategies.push(Strategy::Fd);
  }
  strategies
}

/// A directory with `layers` lower layers `snapshots/<i>/fs`, each holding a marker file
/// `layer-<i>`, and an upper, a work dir and a target; unmounted and removed when dropped.
pub struct Store {
  pub root: PathBuf,
  pub lower: Vec<PathBuf>,
}

impl Store {
  pub fn new(name: &str, layers: usize) -> Store {
    let root = std::env::temp_dir().join(format!("ovl-core-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let lower: Vec<PathBuf> = (0..layers)
      .map(|i| root.join("snapshots").join(i.to_string()).join("fs"))
      .collect();
    for (i, dir) in lower.iter().enumerate() {
      fs::create_dir_all(dir).unwrap();
      fs::write(dir.join(format!("layer-{i}")), i.to_string()).unwrap();
    }
    for dir in ["upper", "work", "merged"] {
      fs::create_dir_all(root.join(dir)).unwrap();
    }
    Store { root, lower }
  }

  /// A writable mount of every layer on the target, by absolute paths.
  pub fn request(&self, strategy: Strategy) -> MountRequest {
    MountRequest {
      strategy,
      cwd: None,
      target: self.target(),
      lower: self.lower.clone(),
      data_layers: vec![],
      upper: Some(self.root.join("upper")),
      work: Some(self.root.join("work")),
      options: vec![],
      data: None,
      allow_stacking: false,
    }
  }

  pub fn target(&self) -> PathBuf {
    self.root.join("merged")
  }

  /// The names in the merged view, sorted.
  pub fn merged(&self) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(self.target())
      .unwrap()
      .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
      .collect();
    names.sort();
    names
  }

  /// The marker files of every layer, sorted: what the merged view must show.
  pub fn expected(&self) -> Vec<String> {
    let mut names: Vec<String> = (0..self.lower.len())
      .map(|i| format!("layer-{i}"))
      .collect();
    names.sort();
    names
  }

  /// `(st_dev, st_ino)` of the store's directory `dir`.
  pub fn identity(&self, dir: &str) -> (u64, u64) {
    let meta = fs::metadata(self.root.join(dir)).unwrap();
    (meta.dev(), meta.ino())
  }
}

impl Drop for Store {
  fn drop(&mut self) {
    let _ = unmount(&self.target(), true);
    let _ = fs::remove_dir_all(&self.root);
  }
}
