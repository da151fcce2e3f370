//! Development helper: runs a RON scenario and prints the report as JSON.
fn main() {
    let path = std::env::args().nth(1).expect("path");
    let seed: Option<u64> = std::env::args().nth(2).map(|s| s.parse().unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    let sc: model::Scenario = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).from_str(&text).unwrap();
    sc.validate().unwrap();
    let t = std::time::Instant::now();
    let r = model::run(&sc, &model::RunConfig::seeded(seed.unwrap_or(sc.seed)));
    let el = t.elapsed();
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    eprintln!("{:?} {} ev/s", el, r.stats.events as f64 / el.as_secs_f64());
}
