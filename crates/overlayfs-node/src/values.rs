//! The values that cross between JavaScript and the core, and their conversions.

use std::path::PathBuf;

use napi_derive::napi;
use overlayfs_core::mountinfo::MountEntry;
use overlayfs_core::{Error, ErrorCode, MountOption, MountRequest, Strategy};

/// One extra overlay option: a flag (`value` absent) or a key with a value.
#[napi(object)]
pub struct NativeOption {
  pub key: String,
  pub value: Option<String>,
}

/// A planned mount, as it crosses from JavaScript: one positional argument of
/// `Channel::mount` per field, each list as one string with its count, the items joined by
/// NUL (which no path or option holds). A positional string converts in a fraction of the
/// time of an object's named property, and one string in the time of a few, not hundreds.
pub struct NativeMountRequest {
  pub strategy: String,
  pub target: String,
  pub lower: String,
  pub lower_count: u32,
  pub data_layers: String,
  pub data_count: u32,
  pub upper: Option<String>,
  pub work: Option<String>,
  pub cwd: Option<String>,
  /// `key` or `key=value` texts.
  pub options: String,
  pub options_count: u32,
  pub data: Option<String>,
  pub allow_stacking: bool,
}

/// A failure, shaped like the fields of a Node fs error.
#[napi(object)]
pub struct NativeError {
  pub code: String,
  pub errno: Option<i32>,
  pub syscall: Option<String>,
  pub path: Option<String>,
  pub message: String,
}

/// One line of mountinfo.
#[napi(object)]
pub struct NativeMountEntry {
  pub id: i64,
  pub parent: i64,
  pub root: String,
  pub mount_point: String,
  pub fstype: String,
  pub source: String,
  pub super_options: Vec<NativeOption>,
  pub lowerdirs: Vec<String>,
  pub datadirs: Vec<String>,
}

pub(crate) fn native_error(err: Error) -> NativeError {
  NativeError {
    // Like Node's fs errors, a failed syscall's code is its errno name; a refusal has its own.
    code: match err.code {
      ErrorCode::Sys => err
        .errno_name()
        .unwrap_or_else(|| err.code.as_str().to_string()),
      code => code.as_str().to_string(),
    },
    errno: err.errno.map(|e| e as i32),
    syscall: err.syscall.map(str::to_string),
    path: err.path.map(|p| p.to_string_lossy().into_owned()),
    message: err.message,
  }
}

pub(crate) fn native_entry(entry: MountEntry) -> NativeMountEntry {
  let (lowerdirs, datadirs) = entry.lowerdirs();
  NativeMountEntry {
    id: entry.id as i64,
    parent: entry.parent as i64,
    root: entry.root,
    mount_point: entry.mount_point.to_string_lossy().into_owned(),
    fstype: entry.fstype,
    source: entry.source,
    super_options: entry
      .super_options
      .into_iter()
      .map(|(key, value)| NativeOption { key, value })
      .collect(),
    lowerdirs,
    datadirs,
  }
}

pub(crate) fn core_request(req: NativeMountRequest) -> Result<MountRequest, NativeError> {
  let strategy = Strategy::parse(&req.strategy)
    .ok_or_else(|| invalid(format!("unknown strategy '{}'", req.strategy)))?;
  Ok(MountRequest {
    strategy,
    cwd: req.cwd.map(PathBuf::from),
    target: req.target.into(),
    lower: split(&req.lower, req.lower_count, "lower layer paths")?
      .into_iter()
      .map(PathBuf::from)
      .collect(),
    data_layers: split(&req.data_layers, req.data_count, "data layer paths")?
      .into_iter()
      .map(PathBuf::from)
      .collect(),
    upper: req.upper.map(PathBuf::from),
    work: req.work.map(PathBuf::from),
    options: split(&req.options, req.options_count, "options")?
      .into_iter()
      .map(MountOption::parse)
      .collect(),
    data: req.data,
    allow_stacking: req.allow_stacking,
  })
}

/// A failure that is no syscall's: only a code and a message.
fn refusal(code: &str, message: String) -> NativeError {
  NativeError {
    code: code.into(),
    errno: None,
    syscall: None,
    path: None,
    message,
  }
}

fn invalid(message: String) -> NativeError {
  refusal(ErrorCode::InvalidRequest.as_str(), message)
}

/// The `count` items of `joined`, which are separated by NUL. Another count means an item
/// held a NUL byte itself; an empty item is refused too.
fn split<'a>(joined: &'a str, count: u32, what: &str) -> Result<Vec<&'a str>, NativeError> {
  let items: Vec<&str> = match (count, joined) {
    (0, "") => Vec::new(),
    _ => joined.split('\0').collect(),
  };
  if items.len() != count as usize {
    let found = items.len();
    let msg = format!("{count} {what} expected, {found} found: one holds a NUL byte");
    return Err(invalid(msg));
  }
  if items.iter().any(|item| item.is_empty()) {
    return Err(invalid(format!("one of the {count} {what} is empty")));
  }
  Ok(items)
}

/// What a job that panicked reports: a bug in this package, never an outcome of a mount.
pub(crate) fn internal_error(what: &str) -> NativeError {
  let message =
    format!("overlayfs: the mount thread panicked during {what} (a bug: please report it)");
  refusal("ERR_OVERLAY_INTERNAL", message)
}

/// One finished job, as the channel hands it back: its id, and its error or mount entry.
#[napi(object)]
pub struct NativeCompletion {
  pub id: u32,
  pub error: Option<NativeError>,
  pub entry: Option<NativeMountEntry>,
}
