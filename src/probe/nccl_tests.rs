//! Reading the tables NVIDIA's nccl-tests print (`all_reduce_perf`, `all_gather_perf`, …), pure.
//!
//! The format (nccl-tests `src/common.cu`): `#` comment lines, among them one `#  Rank  N Group
//! G Pid P on HOST device D [BUS] NAME` line per rank and a column header naming `size count
//! type redop root time algbw busbw #wrong`, first for the out-of-place and then for the in-place
//! run; one row per message size; and `# Avg bus bandwidth : X`. Under `srun -l` every line
//! starts with a `R:` rank label, and NCCL's own `NCCL INFO` lines may be interleaved; both are
//! tolerated. Bandwidths are decimal GB/s, times microseconds.
use super::schema::{NcclTestsRow, NcclTestsRun};

/// Why a text holds no usable nccl-tests table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no nccl-tests column header ('size count type … algbw busbw') in the output")]
    NoHeader,
    #[error("the nccl-tests output has a header but no result rows")]
    NoRows,
}

/// Strips an `srun -l` rank label (`  0: `) from the start of a line.
fn unlabel(line: &str) -> &str {
    let t = line.trim_start();
    match t.split_once(':') {
        Some((label, rest)) if !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => line,
    }
}

/// Column positions of one table, from its header line.
#[derive(Debug, Clone, Copy)]
struct Columns {
    size: usize,
    time: usize,
    algbw: usize,
    busbw: usize,
    wrong: Option<usize>,
    in_place_busbw: Option<usize>,
    in_place_wrong: Option<usize>,
    width: usize,
}

fn columns(header: &[&str]) -> Option<Columns> {
    let all = |name: &str| -> Vec<usize> {
        header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
            .collect()
    };
    let (size, time, algbw, busbw) = (all("size"), all("time"), all("algbw"), all("busbw"));
    let wrong = {
        let mut w = all("#wrong");
        w.extend(all("error"));
        w.sort_unstable();
        w
    };
    Some(Columns {
        size: *size.first()?,
        time: *time.first()?,
        algbw: *algbw.first()?,
        busbw: *busbw.first()?,
        wrong: wrong.first().copied(),
        in_place_busbw: busbw.get(1).copied(),
        in_place_wrong: wrong.get(1).copied(),
        width: header.len(),
    })
}

fn count(token: Option<&&str>) -> Option<u64> {
    token.and_then(|t| t.parse().ok())
}

fn row(tokens: &[&str], c: Columns) -> Option<NcclTestsRow> {
    if tokens.len() < c.width.min(c.busbw + 1) {
        return None;
    }
    let num = |i: usize| -> Option<f64> {
        tokens
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    Some(NcclTestsRow {
        size_bytes: tokens.get(c.size)?.parse().ok()?,
        time_us: num(c.time)?,
        algbw_gb_per_s: num(c.algbw)?,
        busbw_gb_per_s: num(c.busbw)?,
        wrong_count: c.wrong.and_then(|i| count(tokens.get(i))),
        in_place_busbw_gb_per_s: c.in_place_busbw.and_then(num),
        in_place_wrong_count: c.in_place_wrong.and_then(|i| count(tokens.get(i))),
    })
}

/// Parses nccl-tests output; `collective` names the test when the output does not
/// (`# Collective test concluded: all_gather_perf` wins when present).
pub fn parse(text: &str, collective: &str) -> Result<NcclTestsRun, ParseError> {
    let mut run = NcclTestsRun {
        collective: collective.to_owned(),
        ..NcclTestsRun::default()
    };
    let mut cols: Option<Columns> = None;
    for raw in text.lines() {
        let line = unlabel(raw);
        if line.contains("NCCL INFO") || line.contains("NCCL WARN") {
            continue;
        }
        let t = line.trim();
        if let Some(comment) = t.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"Rank") {
                run.ranks_count += 1;
                if let Some(host) = words
                    .iter()
                    .position(|w| *w == "on")
                    .and_then(|i| words.get(i + 1))
                {
                    if !run.hosts.iter().any(|h| h == host) {
                        run.hosts.push((*host).to_owned());
                    }
                }
            } else if words.contains(&"algbw")
                && words.contains(&"busbw")
                && words.contains(&"size")
            {
                cols = columns(&words);
            } else if let Some(avg) = comment.split_once("Avg bus bandwidth") {
                run.avg_busbw_gb_per_s = avg
                    .1
                    .trim_start_matches([' ', ':'])
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok());
            } else if let Some(name) = comment.split_once("Collective test concluded:") {
                let name = name
                    .1
                    .trim()
                    .trim_end_matches("_mpi")
                    .trim_end_matches("_perf");
                if !name.is_empty() {
                    run.collective = name.to_owned();
                }
            }
            continue;
        }
        if let Some(c) = cols {
            let tokens: Vec<&str> = t.split_whitespace().collect();
            if let Some(r) = row(&tokens, c) {
                run.rows.push(r);
            }
        }
    }
    if cols.is_none() {
        return Err(ParseError::NoHeader);
    }
    if run.rows.is_empty() {
        return Err(ParseError::NoRows);
    }
    Ok(run)
}

impl NcclTestsRun {
    /// The row with the highest out-of-place bus bandwidth (nccl-tests' headline).
    pub fn peak(&self) -> Option<&NcclTestsRow> {
        self.rows
            .iter()
            .max_by(|a, b| a.busbw_gb_per_s.total_cmp(&b.busbw_gb_per_s))
    }

    /// Rows whose validation found wrong values.
    pub fn wrong_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.wrong_count.unwrap_or(0) > 0 || r.in_place_wrong_count.unwrap_or(0) > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::count::Collective;

    /// Excerpt of a real 2-node, 16-rank `all_reduce_perf -b 8 -e 8G -f 2 -g 1` run on H100s
    /// (see tests/fixtures/nccl-tests/README.md for its source).
    const ALL_REDUCE: &str =
        include_str!("../../tests/fixtures/nccl-tests/all_reduce_perf_2x8_h100.txt");

    #[test]
    fn parses_a_real_all_reduce_table() {
        let run = parse(ALL_REDUCE, "all_reduce").unwrap();
        assert_eq!(run.collective, "all_reduce");
        assert_eq!(run.ranks_count, 16);
        assert_eq!(run.hosts, vec!["ztan-mig-235z", "ztan-mig-gq73"]);
        assert_eq!(run.rows.len(), 8);
        let first = run.rows[0];
        assert_eq!(first.size_bytes, 8 << 20);
        assert_eq!(first.time_us, 571.9);
        assert_eq!(first.algbw_gb_per_s, 14.67);
        assert_eq!(first.busbw_gb_per_s, 27.50);
        assert_eq!(first.wrong_count, Some(0));
        assert_eq!(first.in_place_busbw_gb_per_s, Some(27.91));
        let peak = run.peak().unwrap();
        assert_eq!(peak.size_bytes, 1 << 30);
        assert_eq!(peak.busbw_gb_per_s, 297.86);
        assert_eq!(run.avg_busbw_gb_per_s, Some(70.742));
        assert_eq!(run.wrong_rows(), 0);
        // Every row obeys busbw = algbw · 2(n−1)/n for n = 16, within the table's rounding.
        for r in &run.rows {
            let want = r.algbw_gb_per_s * Collective::AllReduce.bus_factor(16);
            assert!((r.busbw_gb_per_s - want).abs() < 0.02, "{r:?}");
        }
    }

    #[test]
    fn tolerates_srun_labels_nccl_info_lines_and_missing_validation() {
        let text = "\
 0: #       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
 0: #        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
node1:4242:4242 [0] NCCL INFO comm 0x1 rank 0 nranks 2 - Init COMPLETE
 0:   1073741824     268435456     float    none      -1    11366   94.47   91.52    N/A    11319   94.86   91.90    N/A
 0: # Out of bounds values : 0 OK
 0: # Avg bus bandwidth    : 91.52
 0: # Collective test concluded: all_gather_perf
";
        let run = parse(text, "all_reduce").unwrap();
        assert_eq!(run.collective, "all_gather");
        assert_eq!(run.rows.len(), 1);
        assert_eq!(run.rows[0].busbw_gb_per_s, 91.52);
        assert_eq!(run.rows[0].wrong_count, None);
        assert_eq!(run.avg_busbw_gb_per_s, Some(91.52));
    }

    #[test]
    fn wrong_values_and_garbage_are_reported() {
        let bad = ALL_REDUCE.replace("      0    563.5", "      3    563.5");
        assert_eq!(parse(&bad, "all_reduce").unwrap().wrong_rows(), 1);
        assert_eq!(parse("hello\n", "x"), Err(ParseError::NoHeader));
        let header_only = ALL_REDUCE
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse(&header_only, "x"), Err(ParseError::NoRows));
    }
}
