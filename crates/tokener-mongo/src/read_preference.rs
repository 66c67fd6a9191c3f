//! Where the administrative listings read from (`TOKENER_MONGODB_LISTING_READ_PREFERENCE`).
//!
//! Only the listings of the admin API (clients, audit events) follow it: they may be a
//! replication lag behind and can take load off the primary. Everything on the request path
//! (token records, revocations, a client being authenticated) keeps the connection string's
//! read preference, `primary` unless it says otherwise, so the revocation state's one-second
//! bound never includes a secondary's lag.

use mongodb::options::{ReadPreference, ReadPreferenceOptions, SelectionCriteria};
use std::fmt;
use std::str::FromStr;

/// The read preference of the admin listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingReadPreference {
    /// The primary: a listing shows every change acknowledged before it.
    #[default]
    Primary,
    /// The primary when it answers, else a secondary.
    PrimaryPreferred,
    /// A secondary when one answers, else the primary: listings off the primary's load, at
    /// most a replication lag old.
    SecondaryPreferred,
    /// The member with the lowest latency, primary or secondary.
    Nearest,
}

impl ListingReadPreference {
    /// The driver's selection criteria for a listing.
    pub(crate) fn criteria(self) -> SelectionCriteria {
        let options = Some(ReadPreferenceOptions::default());
        SelectionCriteria::ReadPreference(match self {
            Self::Primary => ReadPreference::Primary,
            Self::PrimaryPreferred => ReadPreference::PrimaryPreferred { options },
            Self::SecondaryPreferred => ReadPreference::SecondaryPreferred { options },
            Self::Nearest => ReadPreference::Nearest { options },
        })
    }
}

impl FromStr for ListingReadPreference {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "primary" => Ok(Self::Primary),
            "primaryPreferred" => Ok(Self::PrimaryPreferred),
            "secondaryPreferred" => Ok(Self::SecondaryPreferred),
            "nearest" => Ok(Self::Nearest),
            _ => Err(
                "must be primary, primaryPreferred, secondaryPreferred or nearest (secondary \
                 alone would fail listings whenever no secondary answers)"
                    .into(),
            ),
        }
    }
}

impl fmt::Display for ListingReadPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Primary => "primary",
            Self::PrimaryPreferred => "primaryPreferred",
            Self::SecondaryPreferred => "secondaryPreferred",
            Self::Nearest => "nearest",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_secondary_alone_is_refused() {
        for name in [
            "primary",
            "primaryPreferred",
            "secondaryPreferred",
            "nearest",
        ] {
            let parsed: ListingReadPreference = name.parse().unwrap();
            assert_eq!(parsed.to_string(), name);
        }
        assert!("secondary".parse::<ListingReadPreference>().is_err());
        assert!("".parse::<ListingReadPreference>().is_err());
        assert_eq!(
            ListingReadPreference::default(),
            ListingReadPreference::Primary
        );
    }
}
