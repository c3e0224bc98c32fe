//! Reading `/proc/self/mountinfo` (see proc_pid_mountinfo(5)).
//!
//! A line can be far longer than a page (an overlay with hundreds of layers), and path fields
//! escape space, tab, newline and backslash as octal (`\040`), so the file is read whole and
//! each field is unescaped only after the line has been split.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// One mount, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
  pub id: u64,
  pub parent: u64,
  pub root: String,
  pub mount_point: PathBuf,
  pub fstype: String,
  pub source: String,
  /// The filesystem's own options, split at unescaped commas, then unescaped.
  pub super_options: Vec<(String, Option<String>)>,
}

impl MountEntry {
  /// The value of super option `key`, if present.
  pub fn option(&self, key: &str) -> Option<&str> {
    self
      .super_options
      .iter()
      .find(|(k, _)| k == key)
      .and_then(|(_, v)| v.as_deref())
  }

  /// An overlay's lower layers as the kernel lists them, top-most first: the regular ones,
  /// then the data-only ones. Legacy mounts list one `lowerdir=` (in the legacy syntax),
  /// new-API mounts one `lowerdir+=` or `datadir+=` per layer.
  pub fn lowerdirs(&self) -> (Vec<String>, Vec<String>) {
    let (mut regular, mut data) = (Vec::new(), Vec::new());
    for (key, value) in &self.super_options {
      match (key.as_str(), value) {
        ("lowerdir", Some(value)) => {
          let (r, d) = split_lowerdir(value);
          regular.extend(r);
          data.extend(d);
        }
        ("lowerdir+", Some(value)) => regular.push(value.clone()),
        ("datadir+", Some(value)) => data.push(value.clone()),
        _ => {}
      }
    }
    (regular, data)
  }
}

/// Splits a legacy `lowerdir=` value the way overlayfs does: `\` escapes the next byte,
/// `:` separates layers and `::` starts the data-only ones.
pub fn split_lowerdir(value: &str) -> (Vec<String>, Vec<String>) {
  let (mut regular, mut data) = (Vec::new(), Vec::new());
  let mut current = String::new();
  let mut in_data = false;
  let mut chars = value.chars().peekable();
  let mut finish = |current: &mut String, in_data: bool| {
    let layer = std::mem::take(current);
    if in_data {
      data.push(layer)
    } else {
      regular.push(layer)
    }
  };
  while let Some(c) = chars.next() {
    match c {
      '\\' => current.extend(chars.next()),
      ':' => {
        finish(&mut current, in_data);
        if chars.peek() == Some(&':') {
          chars.next();
          in_data = true;
        }
      }
      _ => current.push(c),
    }
  }
  finish(&mut current, in_data);
  (regular, data)
}

/// Unescapes `\ooo` octal escapes; anything else is kept as it is.
pub fn unescape(field: &[u8]) -> Vec<u8> {
  let mut out = Vec::with_capacity(field.len());
  let mut i = 0;
  while i < field.len() {
    let octal = field
      .get(i + 1..i + 4)
      .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
    match (field[i], octal) {
      (b'\\', Some(digits)) => {
        let value = digits
          .iter()
          .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
        out.push(value as u8);
        i += 4;
      }
      (byte, _) => {
        out.push(byte);
        i += 1;
      }
    }
  }
  out
}

fn text(field: &[u8]) -> String {
  String::from_utf8_lossy(&unescape(field)).into_owned()
}

fn path(field: &[u8]) -> PathBuf {
  use std::os::unix::ffi::OsStringExt;
  PathBuf::from(std::ffi::OsString::from_vec(unescape(field)))
}

/// Parses one mountinfo line; `None` for a line that is not of the documented shape.
pub fn parse_line(line: &[u8]) -> Option<MountEntry> {
  let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
  let dash = fields.iter().position(|f| *f == b"-")?;
  if dash < 6 || fields.len() < dash + 4 {
    return None;
  }
  let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
  let raw_super = fields[dash + 3];
  Some(MountEntry {
    id: number(fields[0])?,
    parent: number(fields[1])?,
    root: text(fields[3]),
    mount_point: path(fields[4]),
    fstype: text(fields[dash + 1]),
    source: text(fields[dash + 2]),
    super_options: raw_super
      .split(|&b| b == b',')
      .filter(|o| !o.is_empty())
      .map(|o| match o.iter().position(|&b| b == b'=') {
        Some(eq) => (text(&o[..eq]), Some(text(&o[eq + 1..]))),
        None => (text(o), None),
      })
      .collect(),
  })
}

/// Parses a whole mountinfo text.
pub fn parse(content: &[u8]) -> Vec<MountEntry> {
  content
    .split(|&b| b == b'\n')
    .filter(|l| !l.is_empty())
    .filter_map(parse_line)
    .collect()
}

/// Every mount in the calling thread's mount namespace. (`/proc/self` would name the
/// process's main thread, whose namespace a thread that unshared one no longer shares.)
pub fn read() -> Result<Vec<MountEntry>, Error> {
  Ok(parse(&read_raw()?))
}

/// One directory a mounted overlay writes to, as its mountinfo line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayWriter {
  pub mount_point: PathBuf,
  /// `upperdir` or `workdir`.
  pub key: &'static str,
  /// The value as listed, mountinfo's octal escapes undone.
  pub value: String,
}

/// The upper and work directories of every overlay in `content`. Reads only what it needs
/// of each overlay line, so that it stays cheap with hundreds of many-layer overlays.
pub fn overlay_writers(content: &[u8]) -> Vec<OverlayWriter> {
  let mut writers = Vec::new();
  for line in content.split(|&b| b == b'\n') {
    let Some(dash) = position(line, b" - overlay ") else {
      continue;
    };
    let mut fields = line[dash + 3..].split(|&b| b == b' ');
    let (Some(_), Some(_), Some(options)) = (fields.next(), fields.next(), fields.next()) else {
      continue;
    };
    let mount_point = line
      .split(|&b| b == b' ')
      .nth(4)
      .map(path)
      .unwrap_or_default();
    for (key, value) in writer_options(options) {
      writers.push(OverlayWriter {
        mount_point: mount_point.clone(),
        key,
        value,
      });
    }
  }
  writers
}

/// The `upperdir` and `workdir` values of an overlay's super options (comma-separated,
/// octal-escaped, as mountinfo and `statmount`'s `mnt_opts` give them), unescaped.
pub fn writer_options(options: &[u8]) -> Vec<(&'static str, String)> {
  let mut found = Vec::new();
  for option in options.split(|&b| b == b',') {
    for key in ["upperdir", "workdir"] {
      if let Some(value) = option
        .strip_prefix(key.as_bytes())
        .and_then(|v| v.strip_prefix(b"="))
      {
        found.push((key, text(value)));
      }
    }
  }
  found
}

fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
  haystack.windows(needle.len()).position(|w| w == needle)
}

/// The raw text of the calling thread's mountinfo.
pub fn read_raw() -> Result<Vec<u8>, Error> {
  let file = Path::new("/proc/thread-self/mountinfo");
  std::fs::read(file).map_err(|e| {
    let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    Error::sys(errno, "read", Some(file), "listing mounts")
  })
}

/// The top-most mount at `target`, if any.
pub fn find(target: &Path) -> Result<Option<MountEntry>, Error> {
  Ok(read()?.into_iter().rev().find(|m| m.mount_point == target))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn unescapes_octal_and_keeps_the_rest() {
    assert_eq!(
      unescape(br"/a\040b\011c\012d\134e"),
      b"/a b\tc\nd\\e".to_vec()
    );
    assert_eq!(unescape(br"/tail\04"), br"/tail\04".to_vec());
    assert_eq!(unescape(br"\9xx"), br"\9xx".to_vec());
  }

  #[test]
  fn parses_optional_fields_and_super_options() {
    let line = b"36 35 98:0 / /mnt/a\\040b rw,noatime master:1 shared:2 - overlay overlay \
rw,lowerdir=/l/1:/l/x\\:y::/d/1,upperdir=/u\\054v,workdir=/w";
    let entry = parse_line(line).unwrap();
    assert_eq!((entry.id, entry.parent), (36, 35));
    assert_eq!(entry.mount_point, Path::new("/mnt/a b"));
    assert_eq!(entry.fstype, "overlay");
    assert_eq!(entry.option("upperdir"), Some("/u,v"));
    let (regular, data) = entry.lowerdirs();
    assert_eq!(regular, vec!["/l/1", "/l/x:y"]);
    assert_eq!(data, vec!["/d/1"]);
  }

  #[test]
  fn new_api_layers_are_listed_one_by_one() {
    let line = b"40 1 0:50 / /m rw - overlay overlay rw,lowerdir+=/a:b,lowerdir+=/c,datadir+=/d";
    let (regular, data) = parse_line(line).unwrap().lowerdirs();
    assert_eq!(regular, vec!["/a:b", "/c"]);
    assert_eq!(data, vec!["/d"]);
  }

  #[test]
  fn a_line_longer_than_a_page_parses_whole() {
    let layers: Vec<String> = (0..300)
      .map(|i| format!("/store/snapshots/{i:04}/fs"))
      .collect();
    let options: Vec<String> = layers.iter().map(|l| format!("lowerdir+={l}")).collect();
    let line = format!(
      "7 1 0:9 / /m rw - overlay overlay rw,{}\n",
      options.join(",")
    );
    assert!(line.len() > 4096);
    let entries = parse(format!("1 0 8:1 / / rw - ext4 /dev/vda rw\n{line}").as_bytes());
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].lowerdirs().0, layers);
  }

  #[test]
  fn overlay_writers_are_read_from_overlay_lines_only() {
    let content = b"1 0 8:1 / / rw - ext4 /dev/vda rw,upperdir=/not/an/overlay\n\
      7 1 0:9 / /m\\040n rw - overlay overlay rw,lowerdir+=/l,upperdir=/u\\054v,workdir=/w\n\
      8 1 0:10 / /ro rw - overlay overlay ro,lowerdir=/a:/b\n";
    let writers = overlay_writers(content);
    assert_eq!(writers.len(), 2);
    assert_eq!(writers[0].mount_point, Path::new("/m n"));
    assert_eq!(
      (writers[0].key, writers[0].value.as_str()),
      ("upperdir", "/u,v")
    );
    assert_eq!(
      (writers[1].key, writers[1].value.as_str()),
      ("workdir", "/w")
    );
  }

  #[test]
  fn malformed_lines_are_skipped() {
    assert!(parse_line(b"garbage").is_none());
    assert!(parse_line(b"1 2 3 4 5 6 -").is_none());
  }
}
