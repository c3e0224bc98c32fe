//! Timing mount+unmount cycles and summing them up as JSON.

use std::collections::BTreeMap;
use std::time::Instant;

use overlayfs_core::MountRequest;

/// Mounts `req` and unmounts it again, as the package does; returns the nanoseconds taken.
pub fn cycle(req: &MountRequest) -> Result<u64, String> {
  let start = Instant::now();
  overlayfs_core::mount(req).map_err(|e| format!("mount: {e}"))?;
  overlayfs_core::unmount(&req.target, false).map_err(|e| format!("unmount: {e}"))?;
  Ok(start.elapsed().as_nanos() as u64)
}

/// Every cycle time taken so far, by case.
#[derive(Default)]
pub struct Samples {
  by_case: BTreeMap<String, Vec<u64>>,
}

impl Samples {
  /// Runs `cycles` cycles of `req`, keeps their times under `id` and returns them.
  pub fn take(&mut self, id: &str, req: &MountRequest, cycles: usize) -> Result<&[u64], String> {
    let mut times = Vec::with_capacity(cycles);
    for _ in 0..cycles {
      times.push(cycle(req).map_err(|e| format!("case {id}: {e}"))?);
    }
    let all = self.by_case.entry(id.to_string()).or_default();
    let from = all.len();
    all.extend(times);
    Ok(&all[from..])
  }

  /// `{"medians":{"<case>":<ns>,...},"cycles":{"<case>":<count>,...}}`.
  pub fn summary_json(&self) -> String {
    let medians = self
      .by_case
      .iter()
      .map(|(id, t)| format!("{}:{}", quote(id), median(t)));
    let counts = self
      .by_case
      .iter()
      .map(|(id, t)| format!("{}:{}", quote(id), t.len()));
    let medians = medians.collect::<Vec<_>>().join(",");
    let counts = counts.collect::<Vec<_>>().join(",");
    format!("{{\"medians\":{{{medians}}},\"cycles\":{{{counts}}}}}")
  }
}

/// `{"case":"<id>","ns":[...]}`: one batch of cycle times.
pub fn batch_json(id: &str, times: &[u64]) -> String {
  let ns = times
    .iter()
    .map(u64::to_string)
    .collect::<Vec<_>>()
    .join(",");
  format!("{{\"case\":{},\"ns\":[{ns}]}}", quote(id))
}

/// The median of `times` (the mean of the middle two for an even count); 0 for none.
pub fn median(times: &[u64]) -> u64 {
  if times.is_empty() {
    return 0;
  }
  let mut sorted = times.to_vec();
  sorted.sort_unstable();
  let mid = sorted.len() / 2;
  if sorted.len() % 2 == 1 {
    sorted[mid]
  } else {
    (sorted[mid - 1] + sorted[mid]) / 2
  }
}

fn quote(text: &str) -> String {
  let mut out = String::with_capacity(text.len() + 2);
  out.push('"');
  for c in text.chars() {
    match c {
      '"' | '\\' => {
        out.push('\\');
        out.push(c);
      }
      c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
      c => out.push(c),
    }
  }
  out.push('"');
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn median_of_odd_and_even_counts() {
    assert_eq!(median(&[5, 1, 3]), 3);
    assert_eq!(median(&[4, 1, 3, 2]), 2);
    assert_eq!(median(&[]), 0);
  }

  #[test]
  fn json_quotes_case_names() {
    assert_eq!(batch_json("a\"b", &[1, 2]), r#"{"case":"a\"b","ns":[1,2]}"#);
  }
}
