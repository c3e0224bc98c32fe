//! Legacy `mount(2)`: all options in one page of mount data.
//!
//! The kernel copies one page of mount data and keeps at most page size - 1 bytes of it,
//! silently cutting the rest, so every string is measured here before the syscall.

use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::error::{Error, ErrorCode};
use crate::fs_state;
use crate::layers::OpenedRequest;
use crate::limits::{data_fits, page_size};
use crate::new_api::escape_upper;
use crate::request::MountRequest;

/// Mounts with the planner's mount data (strategies `absolute` and `relative`).
pub fn mount_with_data(req: &MountRequest, opened: &OpenedRequest) -> Result<(), Error> {
  let Some(data) = req.data.as_deref() else {
    let msg = format!(
      "strategy {} needs mount data from the planner",
      req.strategy.as_str()
    );
    return Err(Error::refused(ErrorCode::InvalidRequest, None, msg));
  };
  mount_overlay(&req.target, opened.target.fd.as_raw_fd(), data)
}

/// Mounts from `/proc/self/fd`, naming each layer by the number of its open descriptor.
///
/// Each number is at most a few digits, so 500 layers fit in well under one page.
pub fn mount_procfd(req: &MountRequest, opened: &OpenedRequest) -> Result<(), Error> {
  let data = procfd_data(req, |i| opened.layers[i].fd.as_raw_fd());
  let fds = nix::fcntl::open(
    "/proc/self/fd",
    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
    nix::sys::stat::Mode::empty(),
  )
  .map_err(|e| {
    Error::sys(
      e,
      "open",
      Some(Path::new("/proc/self/fd")),
      "procfd strategy",
    )
  })?;
  fs_state::enter(&fds, "entering /proc/self/fd")?;
  mount_overlay(&req.target, opened.target.fd.as_raw_fd(), &data)
}

/// The mount data of the `procfd` strategy; `fd_of(i)` is the descriptor of the i-th role.
/// No path reaches it that contains a comma: such a layer goes by its descriptor.
pub fn procfd_data(req: &MountRequest, fd_of: impl Fn(usize) -> RawFd) -> String {
  let lower = (0..req.lower.len())
    .map(|i| fd_of(i).to_string())
    .collect::<Vec<_>>();
  let mut data = format!("lowerdir={}", lower.join(":"));
  let mut next = req.lower.len();
  for _ in &req.data_layers {
    data.push_str(&format!("::{}", fd_of(next)));
    next += 1;
  }
  // Upper and work go by absolute path where the syntax can carry it, so that mountinfo
  // shows which directories this overlay writes to; by descriptor where it cannot.
  let by_path = |path: &Path, fd: RawFd| match path.to_str() {
    Some(text) if path.is_absolute() && !text.contains(',') => {
      String::from_utf8(escape_upper(text.as_bytes())).expect("escaping keeps UTF-8")
    }
    _ => fd.to_string(),
  };
  if let (Some(upper), Some(work)) = (&req.upper, &req.work) {
    let upper = by_path(upper, fd_of(next));
    let work = by_path(work, fd_of(next + 1));
    data.push_str(&format!(",upperdir={upper},workdir={work}"));
  }
  for option in &req.options {
    data.push(',');
    data.push_str(&option.to_data());
  }
  data
}

/// Calls `mount(2)` for an overlay on the directory open at `target_fd`.
///
/// Refuses data the kernel would cut. The target is named through `/proc/self/fd` where
/// that exists, so the directory that was checked is the one mounted on.
fn mount_overlay(target: &Path, target_fd: RawFd, data: &str) -> Result<(), Error> {
  let page = page_size();
  if !data_fits(data.len(), page) {
    let msg = format!(
      "mount data of {} bytes does not fit: the kernel keeps at most {} bytes of a \
       {page}-byte page",
      data.len(),
      page - 1
    );
    return Err(Error::refused(ErrorCode::DataTooLong, Some(target), msg));
  }
  let by_fd = PathBuf::from(format!("/proc/self/fd/{target_fd}"));
  let mount_point = if by_fd.exists() {
    by_fd
  } else {
    target.to_path_buf()
  };

  let c_target =
    CString::new(mount_point.as_os_str().as_bytes()).map_err(|_| Error::nul(Some(target)))?;
  let c_data = CString::new(data).map_err(|_| Error::nul(Some(target)))?;
  // SAFETY: every pointer is a NUL-terminated string that outlives the call.
  let rc = unsafe {
    libc::mount(
      c"overlay".as_ptr(),
      c_target.as_ptr(),
      c"overlay".as_ptr(),
      0,
      c_data.as_ptr().cast(),
    )
  };
  if rc != 0 {
    let what = format!("overlay with {} bytes of mount data", data.len());
    return Err(Error::sys(Errno::last(), "mount", Some(target), &what));
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::request::{MountOption, Strategy};

  fn request(lower: usize, data: usize, upper: bool) -> MountRequest {
    MountRequest {
      strategy: Strategy::ProcFd,
      cwd: None,
      target: "/t".into(),
      lower: (0..lower)
        .map(|i| PathBuf::from(format!("/l{i}")))
        .collect(),
      data_layers: (0..data).map(|i| PathBuf::from(format!("/d{i}"))).collect(),
      upper: upper.then(|| "/u".into()),
      work: upper.then(|| "/w".into()),
      options: vec![MountOption {
        key: "index".into(),
        value: Some("off".into()),
      }],
      data: None,
      allow_stacking: false,
    }
  }

  #[test]
  fn procfd_data_names_each_role_by_its_descriptor() {
    let data = procfd_data(&request(3, 2, true), |i| 10 + i as RawFd);
    assert_eq!(
      data,
      "lowerdir=10:11:12::13::14,upperdir=/u,workdir=/w,index=off"
    );
    let mut comma = request(1, 0, true);
    comma.upper = Some(PathBuf::from(r"/a,b"));
    comma.work = Some(PathBuf::from(r"/a\w"));
    let data = procfd_data(&comma, |i| 3 + i as RawFd);
    assert_eq!(data, r"lowerdir=3,upperdir=4,workdir=/a\\w,index=off");
    let read_only = procfd_data(&request(2, 0, false), |i| 3 + i as RawFd);
    assert_eq!(read_only, "lowerdir=3:4,index=off");
  }

  #[test]
  fn procfd_data_for_500_layers_fits_a_small_page() {
    let data = procfd_data(&request(498, 0, true), |i| 1_000_000 + i as RawFd);
    assert!(data_fits(data.len(), 4096), "{} bytes", data.len());
  }
}
