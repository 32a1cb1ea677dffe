//! Number formatting shared by the planner's messages and the report's tables, so a figure
//! reads the same wherever it is printed.

/// A number with thousands separators and no decimals: `1234567.8` -> `1,234,568`.
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_and_rounds() {
        assert_eq!(fmt_int(1_234_567.8), "1,234,568");
        assert_eq!(fmt_int(999.4), "999");
        assert_eq!(fmt_int(-1430.0), "-1,430");
        assert_eq!(fmt_int(f64::NAN), "-");
    }
}
