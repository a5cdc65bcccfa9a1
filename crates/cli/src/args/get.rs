//! The flags of `get`: the resources to fetch, each parsed as a [`Ref`] (a Pokémon's id
//! or name, or ENDPOINT/ID-OR-NAME) before anything starts.

use asyncdex::pokeapi::Ref;
use clap::Args;

use super::FetchArgs;

#[derive(Args)]
pub struct GetArgs {
    /// What to fetch: a Pokémon by id or name (`25`, `pikachu`), any resource as
    /// ENDPOINT/ID-OR-NAME (`move/pound`, `evolution-chain/10`), or a Pokémon's
    /// encounters (`pokemon/25/encounters`). At most 100 at once (each whole body is kept
    /// to print it; `crawl` is for more).
    #[arg(required = true, num_args = 1..=100, value_name = "RESOURCE", allow_negative_numbers = true, value_parser = parse_ref)]
    pub keys: Vec<Ref>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

pub fn parse_ref(s: &str) -> Result<Ref, String> {
    s.parse::<Ref>().map_err(|e| e.to_string())
}
