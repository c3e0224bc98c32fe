//! Real mounts through each strategy, without Node. Each test runs on a thread of its own
//! that first enters a new, private mount namespace, so that whatever a test mounts dies
//! with that thread, even if the test fails.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{in_private_namespace, with_new_api, Store};
use overlayfs_core::error::ErrorCode;
use overlayfs_core::{mountinfo, unmount, Strategy};

fn absolute_data(lower: &[PathBuf], upper: &Path, work: &Path) -> String {
  let lower: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
  format!(
    "lowerdir={},upperdir={},workdir={}",
    lower.join(":"),
    upper.display(),
    work.display()
  )
}

#[test]
fn every_strategy_mounts_the_same_view() {
  in_private_namespace(|| {
    let store = Store::new("strategies", 20);
    let legacy = [Strategy::Absolute, Strategy::Relative, Strategy::ProcFd];
    for strategy in with_new_api(&legacy) {
      let mut req = store.request(strategy);
      if strategy == Strategy::Absolute {
        req.data = Some(absolute_data(
          &req.lower,
          &store.root.join("upper"),
          &store.root.join("work"),
        ));
      }
      if strategy == Strategy::Relative {
        req.cwd = Some(store.root.join("snapshots"));
        req.lower = (0..20).map(|i| PathBuf::from(format!("{i}/fs"))).collect();
        let lower = req
          .lower
          .iter()
          .map(|p| p.display().to_string())
          .collect::<Vec<_>>();
        let (upper, work) = (store.root.join("upper"), store.root.join("work"));
        req.data = Some(format!(
          "lowerdir={},upperdir={},workdir={}",
          lower.join(":"),
          upper.display(),
          work.display()
        ));
      }
      overlayfs_core::mount(&req).unwrap_or_else(|e| panic!("{}: {e}", strategy.as_str()));
      assert_eq!(store.merged(), store.expected(), "{}", strategy.as_str());
      let entry = mountinfo::find(&store.root.join("merged"))
        .unwrap()
        .expect("listed");
      assert_eq!(entry.fstype, "overlay");
      assert_eq!(entry.lowerdirs().0.len(), 20, "{}", strategy.as_str());
      unmount(&store.root.join("merged"), false).unwrap();
      assert!(mountinfo::find(&store.root.join("merged"))
        .unwrap()
        .is_none());
    }
  });
}

#[test]
fn data_of_a_page_is_refused_and_nothing_is_mounted() {
  in_private_namespace(|| {
    let store = Store::new("page", 2);
    let mut req = store.request(Strategy::Absolute);
    let page = overlayfs_core::limits::page_size();
    let base = absolute_data(
      &req.lower,
      &store.root.join("upper"),
      &store.root.join("work"),
    );
    // index=off is a valid option; padding its way to exactly one page keeps the data real.
    let padding = ",index=off".repeat((page - base.len()) / 10 + 1);
    req.data = Some(format!("{base}{padding}")[..page].to_string());
    let err = overlayfs_core::mount(&req).unwrap_err();
    assert_eq!(err.code, ErrorCode::DataTooLong);
    assert!(
      err.message.contains(&format!("{page} bytes")),
      "{}",
      err.message
    );
    assert!(mountinfo::find(&store.root.join("merged"))
      .unwrap()
      .is_none());
  });
}

#[test]
fn a_mounted_target_is_refused_unless_stacking_is_asked() {
  in_private_namespace(|| {
    let store = Store::new("stacked", 2);
    let req = store.request(Strategy::ProcFd);
    overlayfs_core::mount(&req).unwrap();
    let other = Store::new("stacked-2", 2);
    let mut again = other.request(Strategy::ProcFd);
    again.target = store.root.join("merged");
    let err = overlayfs_core::mount(&again).unwrap_err();
    assert_eq!(err.code, ErrorCode::TargetIsMountPoint);
    again.allow_stacking = true;
    overlayfs_core::mount(&again).unwrap();
    unmount(&store.root.join("merged"), false).unwrap();
    unmount(&store.root.join("merged"), false).unwrap();
    let err = unmount(&store.root.join("merged"), false).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotMounted);
  });
}

#[test]
fn a_missing_layer_names_itself_and_leaves_nothing() {
  in_private_namespace(|| {
    let store = Store::new("missing", 3);
    let mut req = store.request(Strategy::Fd);
    req.lower[1] = store.root.join("nope");
    let err = overlayfs_core::mount(&req).unwrap_err();
    assert_eq!(err.errno, Some(nix::errno::Errno::ENOENT));
    assert_eq!(err.path.as_deref(), Some(store.root.join("nope").as_path()));
    assert!(
      err.message.contains("lowerdir 1 does not exist"),
      "{}",
      err.message
    );
    assert!(mountinfo::find(&store.root.join("merged"))
      .unwrap()
      .is_none());
    assert_eq!(std::env::current_dir().unwrap(), Path::new("/"));
  });
}

/// Sets extended attribute `name` on `path`.
fn set_xattr(path: &Path, name: &str, value: &[u8]) {
  use std::os::unix::ffi::OsStrExt;
  let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
  let c_name = std::ffi::CString::new(name).unwrap();
  // SAFETY: both strings are NUL-terminated and the value slice outlives the call.
  let rc = unsafe {
    libc::setxattr(
      c_path.as_ptr(),
      c_name.as_ptr(),
      value.as_ptr().cast(),
      value.len(),
      0,
    )
  };
  assert_eq!(
    rc,
    0,
    "setxattr {name} on {}: {}",
    path.display(),
    std::io::Error::last_os_error()
  );
}

#[test]
fn a_metacopy_file_reads_its_data_from_a_data_only_layer() {
  in_private_namespace(|| {
    let store = Store::new("datadir", 1);
    let blob = store.root.join("blobs");
    fs::create_dir_all(blob.join("sha256")).unwrap();
    fs::write(
      blob.join("sha256/abc"),
      b"the data lives in the data-only layer\n",
    )
    .unwrap();
    // A metadata-only file in the lower layer that redirects to the blob by absolute path.
    let meta = store.lower[0].join("file");
    let len = fs::metadata(blob.join("sha256/abc")).unwrap().len();
    fs::File::create(&meta).unwrap().set_len(len).unwrap();
    set_xattr(&meta, "trusted.overlay.metacopy", b"");
    set_xattr(&meta, "trusted.overlay.redirect", b"/sha256/abc");

    for strategy in with_new_api(&[Strategy::ProcFd]) {
      let mut req = store.request(strategy);
      req.upper = None;
      req.work = None;
      req.data_layers = vec![blob.clone()];
      req.options = vec![overlayfs_core::MountOption {
        key: "metacopy".into(),
        value: Some("on".into()),
      }];
      overlayfs_core::mount(&req).unwrap_or_else(|e| panic!("{}: {e}", strategy.as_str()));
      let merged = store.root.join("merged");
      let text = fs::read_to_string(merged.join("file"));
      let names: Vec<String> = fs::read_dir(&merged)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
      unmount(&merged, false).unwrap();
      assert_eq!(
        text.unwrap(),
        "the data lives in the data-only layer\n",
        "{}",
        strategy.as_str()
      );
      // The data-only layer's own tree is not part of the merged view.
      assert!(
        !names.contains(&"sha256".to_string()),
        "{}: {names:?}",
        strategy.as_str()
      );
    }
  });
}
