//! democli: placeholder until the demo CLI lands.
fn main() {}
