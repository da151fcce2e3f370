//! How numbers are written in tables and on chart axes: three significant figures with an SI
//! prefix (`1.61 M`), ratios with a `×`, sizes in bytes with decimal prefixes (1 MB = 10^6 bytes).

/// `value` with three significant figures and an SI prefix: `950`, `12.3 k`, `1.61 M`, `2.00 G`.
pub fn si(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, prefix) = match magnitude {
        m if m >= 1e9 => (value / 1e9, " G"),
        m if m >= 1e6 => (value / 1e6, " M"),
        m if m >= 1e3 => (value / 1e3, " k"),
        _ => (value, ""),
    };
    format!("{}{prefix}", three_figures(scaled))
}

/// An axis tick: like [`si`] without trailing zeros (`10`, `1 k`, `2.5 M`).
pub fn axis(value: f64) -> String {
    let text = si(value);
    let (number, prefix) = text.split_once(' ').map_or((text.as_str(), ""), |(n, p)| (n, p));
    let number = if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { number };
    if prefix.is_empty() {
        number.to_string()
    } else {
        format!("{number} {prefix}")
    }
}

/// Three significant figures without an exponent: `0.523`, `5.23`, `52.3`, `523`.
pub fn three_figures(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// A whole number with thousands separators: `1,024`, `100,000`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ratio: `0.52×`.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}×")
}

/// A size in bytes: `512 B`, `12.3 kB`, `85.2 MB`.
pub fn bytes(value: f64) -> String {
    let separator = if value.abs() >= 1e3 { "" } else { " " };
    format!("{}{separator}B", si(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_three_significant_figures() {
        let cases = [(0.0, "0"), (0.5234, "0.523"), (5.234, "5.23"), (52.34, "52.3"), (523.4, "523"), (12_345.0, "12.3 k"), (1_612_217.0, "1.61 M"), (2e9, "2.00 G")];
        for (value, text) in cases {
            assert_eq!(si(value), text, "{value}");
        }
        assert_eq!([axis(10.0), axis(1000.0), axis(2_500_000.0), axis(0.25), axis(7.0)], ["10", "1 k", "2.5 M", "0.25", "7"]);
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(85_200_000.0), "85.2 MB");
        assert_eq!(ratio(0.523), "0.52×");
        assert_eq!([count(8), count(1024), count(100_000), count(1_000_000)], ["8", "1,024", "100,000", "1,000,000"]);
    }
}
