//! OverlayFS mounting without touching the process's working directory.
//!
//! Every mount runs on a thread whose filesystem state (working directory, root, umask) has
//! been split from the rest of the process with `unshare(CLONE_FS)`, so that the thread can
//! `fchdir` into the layers' common directory and hand the kernel short relative paths.
//! The crate knows nothing of Node: the binding crate only converts types.
#![deny(clippy::all)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod error;
pub mod fs_state;
pub mod in_use;
pub mod layers;
pub mod legacy;
pub mod limits;
pub mod mount;
pub mod mount_ids;
pub mod mountinfo;
pub mod new_api;
pub mod pool;
pub mod probe;
pub mod request;
pub mod unmount;
pub mod workdir;

pub use error::{Error, ErrorCode};
pub use mount::mount;
pub use probe::{features, Features};
pub use request::{MountOption, MountRequest, Strategy};
pub use unmount::unmount;
