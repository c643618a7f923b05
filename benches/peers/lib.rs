//! Nothing: this package exists for its benchmark, `benches/peers.rs`.
