//! Creates an SQLite key database for `SqliteKeyStore` (and the mock's `--keys-db`): the tables
//! (`SqliteKeyStore::SCHEMA`), then the demo rows of `examples/keys_db.sql` (the vendors' example
//! credentials, a rotated key and a revoked one), or the rows of another SQL file.
//!
//! ```text
//! cargo run --example keys_db --features sqlite -- keys.db
//! cargo run --example keys_db --features sqlite -- keys.db --rows my_keys.sql
//! cargo run --release --example mock_providers --features sqlite -- --keys-db keys.db
//! ```

use std::path::PathBuf;

use clap::Parser;
use tower_hmac::{KeyStore, SqliteKeyStore};

/// Create an SQLite key database with demo keys.
#[derive(Parser)]
struct Args {
    /// The database file (created if missing; other rows already there are kept).
    path: PathBuf,
    /// SQL to run after creating the tables, instead of the demo rows.
    #[arg(long)]
    rows: Option<PathBuf>,
}

const DEMO_ROWS: &str = include_str!("keys_db.sql");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let rows = match &args.rows {
        Some(path) => std::fs::read_to_string(path)?,
        None => DEMO_ROWS.to_owned(),
    };
    SqliteKeyStore::create(&args.path, &rows).await?;
    println!("{}: tables and rows written", args.path.display());
    let store = SqliteKeyStore::open(&args.path, "humanos").await?;
    for (scheme, id) in [
        ("humanos", "YOUR_API_KEY"),
        ("inqud", "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1"),
        ("spike", "9999"),
    ] {
        let found = store.with_scheme(scheme).get(id).await?;
        let secrets = found.as_ref().map_or(0, |key| key.secrets().len());
        println!("  {scheme} {id}: {secrets} secret(s)");
    }
    Ok(())
}
