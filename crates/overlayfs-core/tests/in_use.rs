//! The in-use check against real mounts, through the `listmount`/`statmount` cache. Each
//! test runs on a thread of its own in a new, private mount namespace, so that whatever it
//! mounts dies with that thread.

mod common;

use std::path::Path;

use common::{in_private_namespace, Store};
use overlayfs_core::error::ErrorCode;
use overlayfs_core::{features, in_use, unmount, MountRequest, Strategy};

/// A request on `third`'s layers and target that writes to `owner`'s upper and work dirs.
fn reusing(third: &Store, owner: &Store) -> MountRequest {
  let mut req = third.request(Strategy::ProcFd);
  req.upper = Some(owner.root.join("upper"));
  req.work = Some(owner.root.join("work"));
  req
}

/// Asserts that `req` is refused because `owner`'s upper dir is mounted on `target`.
fn assert_in_use(req: &MountRequest, owner: &Store, target: &Path) {
  let err = overlayfs_core::mount(req).expect_err("a second writer is refused");
  assert_eq!(err.code, ErrorCode::InUse, "{}", err.message);
  let expected = format!(
    "upperdir '{}' is already the upperdir of the overlay mounted on '{}'",
    owner.root.join("upper").display(),
    target.display()
  );
  assert_eq!(err.message, expected);
}

#[test]
fn new_mounts_are_seen_and_gone_ones_forgotten() {
  in_private_namespace(|| {
    let f = features();
    assert!(
      f.statmount,
      "these tests need listmount and statmount's options (Linux 6.11+): {:?}",
      f.notes
    );
    // Enough layers that the options outgrow statmount's first buffer.
    let a = Store::new("a", 120);
    let b = Store::new("b", 3);
    let third = Store::new("third", 2);
    let by_string = if f.lowerdir_plus {
      Strategy::LowerdirPlus
    } else {
      Strategy::ProcFd
    };
    let by_fd = if f.fd_layers {
      Strategy::Fd
    } else {
      Strategy::ProcFd
    };

    // B's own check fills the cache before A exists.
    overlayfs_core::mount(&b.request(by_fd)).unwrap();
    overlayfs_core::mount(&a.request(by_string)).unwrap();
    let found = in_use::find_listed(&[a.identity("upper")]).unwrap();
    assert_eq!(found.as_ref().map(|w| &w.mount_point), Some(&a.target()));
    let fallback = in_use::find_in_mountinfo(&[a.identity("upper")]).unwrap();
    assert_eq!(fallback, found, "mountinfo agrees");
    let work = in_use::find_listed(&[b.identity("work")]).unwrap();
    assert_eq!(
      work.map(|w| (w.key, w.mount_point)),
      Some(("workdir", b.target()))
    );
    assert_in_use(&reusing(&third, &a), &a, &a.target());
    assert_in_use(&reusing(&third, &b), &b, &b.target());

    unmount(&a.target(), false).unwrap();
    assert_eq!(in_use::find_listed(&[a.identity("upper")]).unwrap(), None);
    overlayfs_core::mount(&reusing(&third, &a)).expect("A's upper is free again");
    assert_in_use(&a.request(by_string), &a, &third.target());
    unmount(&third.target(), false).unwrap();
    assert_in_use(&reusing(&third, &b), &b, &b.target());
  });
}

#[test]
fn a_namespace_never_sees_another_ones_mounts() {
  let holder = Store::new("holder", 2);
  let req = holder.request(Strategy::ProcFd);
  let upper = holder.identity("upper");
  let target = holder.target();
  in_private_namespace(move || {
    overlayfs_core::mount(&req).unwrap();
    let found = in_use::find_listed(&[upper]).unwrap();
    assert_eq!(found.map(|w| w.mount_point), Some(target));
  });
  // Mounted only in a namespace that died with its thread.
  in_private_namespace(move || {
    assert_eq!(in_use::find_listed(&[upper]).unwrap(), None);
  });
  drop(holder);
}
