fn main() {
    match dnsfailover::api::crd_yaml() {
        Ok(y) => print!("{y}"),
        Err(e) => eprintln!("{e}"),
    }
}
