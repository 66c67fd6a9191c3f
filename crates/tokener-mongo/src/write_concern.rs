//! What MongoDB's acknowledgement of a write means: the write concern every write of the store
//! uses, chosen from the configuration and the kind of deployment the server reports.
//!
//! The store's promise is "a 2xx means recorded". On a replica set a write acknowledged by the
//! primary alone can be rolled back when that primary fails before a secondary copied it, so
//! the default asks for a majority of the members, with the write in their on-disk journals.

use mongodb::bson::Document;
use mongodb::options::{Acknowledgment, WriteConcern};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The most members a write can be asked to reach (a replica set has at most 50).
const MAX_NODES: u32 = 50;

/// How many members must hold a write, journaled, before the store reports it done
/// (`TOKENER_MONGODB_WRITE_CONCERN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteConcernSetting {
    /// The write concern of the connection string (`w=`, `journal=`) if it gives one; otherwise
    /// `majority` with journal on a replica set or a sharded cluster, and the journal of the
    /// one server on a standalone one.
    #[default]
    Auto,
    /// `{w: "majority", j: true}`: the write survives the failover of any minority of members.
    Majority,
    /// `{w: n, j: true}`: `n` members (the primary counted) hold the write.
    Nodes(u32),
}

impl FromStr for WriteConcernSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "auto" => Ok(Self::Auto),
            "majority" => Ok(Self::Majority),
            number => match number.parse::<u32>() {
                Ok(n) if (1..=MAX_NODES).contains(&n) => Ok(Self::Nodes(n)),
                _ => Err(format!(
                    "must be auto, majority or a number of members from 1 to {MAX_NODES} \
                     (0, unacknowledged writes, cannot back the promise that a 2xx means \
                     recorded)"
                )),
            },
        }
    }
}

/// The kind of deployment the server says it belongs to (its `hello` reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// One server: a write is on the only copy there is.
    Standalone,
    /// A member of a replica set (`setName` in the reply).
    ReplicaSet,
    /// A `mongos` router in front of shards, each a replica set.
    Sharded,
}

impl Deployment {
    /// Reads the kind from the reply to `{hello: 1}`.
    pub(crate) fn from_hello(reply: &Document) -> Self {
        if reply.get_str("msg") == Ok("isdbgrid") {
            Self::Sharded
        } else if reply.contains_key("setName") {
            Self::ReplicaSet
        } else {
            Self::Standalone
        }
    }

    fn replicated(self) -> bool {
        self != Self::Standalone
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Standalone => "standalone",
            Self::ReplicaSet => "replica set",
            Self::Sharded => "sharded cluster",
        })
    }
}

impl WriteConcernSetting {
    /// The write concern to use for `deployment`, given the one of the connection string.
    ///
    /// `wait` bounds how long the server waits for the members (`wtimeout`): past it the write
    /// fails with a write concern error, which the store reports as unavailable, instead of
    /// the request hanging while a secondary is away.
    pub(crate) fn resolve(
        self,
        deployment: Deployment,
        from_uri: Option<&WriteConcern>,
        wait: Duration,
    ) -> Result<WriteConcern, String> {
        let mut concern = match self {
            // What the connection string says stands; what it leaves out is filled in.
            Self::Auto => from_uri.cloned().unwrap_or_default(),
            Self::Majority => WriteConcern::builder().w(Acknowledgment::Majority).build(),
            Self::Nodes(n) if n > 1 && !deployment.replicated() => {
                return Err(format!(
                    "a write concern of {n} members needs a replica set; the server is a \
                     {deployment}"
                ));
            }
            Self::Nodes(n) => WriteConcern::builder().w(Acknowledgment::Nodes(n)).build(),
        };
        if concern.w == Some(Acknowledgment::Nodes(0)) {
            return Err(
                "the connection string asks for unacknowledged writes (w=0), which \
                        cannot back the promise that a 2xx means recorded"
                    .into(),
            );
        }
        concern.w.get_or_insert(if deployment.replicated() {
            Acknowledgment::Majority
        } else {
            Acknowledgment::Nodes(1)
        });
        concern.journal.get_or_insert(true);
        concern.w_timeout.get_or_insert(wait);
        Ok(concern)
    }
}

/// How a write concern reads in logs and error messages, e.g. `w=majority j=true wtimeout=4000ms`.
pub(crate) fn describe(concern: &WriteConcern) -> String {
    let w = match &concern.w {
        None => "default".to_owned(),
        Some(Acknowledgment::Majority) => "majority".to_owned(),
        Some(Acknowledgment::Nodes(n)) => n.to_string(),
        Some(Acknowledgment::Custom(tag)) => tag.clone(),
        Some(other) => format!("{other:?}"),
    };
    let mut text = format!("w={w}");
    if let Some(journal) = concern.journal {
        text.push_str(&format!(" j={journal}"));
    }
    if let Some(wait) = concern.w_timeout {
        text.push_str(&format!(" wtimeout={}ms", wait.as_millis()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    const WAIT: Duration = Duration::from_secs(4);

    fn resolved(setting: &str, deployment: Deployment) -> Result<String, String> {
        let setting: WriteConcernSetting = setting.parse()?;
        setting
            .resolve(deployment, None, WAIT)
            .map(|concern| describe(&concern))
    }

    #[test]
    fn settings_parse_and_nonsense_is_refused() {
        assert_eq!("auto".parse(), Ok(WriteConcernSetting::Auto));
        assert_eq!(" majority ".parse(), Ok(WriteConcernSetting::Majority));
        assert_eq!("3".parse(), Ok(WriteConcernSetting::Nodes(3)));
        for bad in ["0", "51", "-1", "all", ""] {
            let error = bad.parse::<WriteConcernSetting>().unwrap_err();
            assert!(error.contains("auto, majority"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_deployment_is_read_from_hello() {
        assert_eq!(
            Deployment::from_hello(&doc! { "isWritablePrimary": true }),
            Deployment::Standalone
        );
        assert_eq!(
            Deployment::from_hello(&doc! { "setName": "rs0", "isWritablePrimary": true }),
            Deployment::ReplicaSet
        );
        assert_eq!(
            Deployment::from_hello(&doc! { "msg": "isdbgrid" }),
            Deployment::Sharded
        );
    }

    #[test]
    fn auto_asks_a_replicated_deployment_for_a_journaled_majority() {
        let majority = "w=majority j=true wtimeout=4000ms";
        assert_eq!(resolved("auto", Deployment::ReplicaSet).unwrap(), majority);
        assert_eq!(resolved("auto", Deployment::Sharded).unwrap(), majority);
        assert_eq!(
            resolved("auto", Deployment::Standalone).unwrap(),
            "w=1 j=true wtimeout=4000ms"
        );
    }

    #[test]
    fn explicit_settings_hold_and_impossible_ones_are_refused() {
        assert_eq!(
            resolved("majority", Deployment::Standalone).unwrap(),
            "w=majority j=true wtimeout=4000ms"
        );
        assert_eq!(
            resolved("2", Deployment::ReplicaSet).unwrap(),
            "w=2 j=true wtimeout=4000ms"
        );
        assert_eq!(
            resolved("1", Deployment::Standalone).unwrap(),
            "w=1 j=true wtimeout=4000ms"
        );
        let error = resolved("2", Deployment::Standalone).unwrap_err();
        assert!(error.contains("needs a replica set"), "{error}");
    }

    #[test]
    fn auto_keeps_the_connection_strings_concern_but_never_an_unacknowledged_one() {
        let given = WriteConcern::builder().w(Acknowledgment::Nodes(2)).build();
        let kept = WriteConcernSetting::Auto
            .resolve(Deployment::ReplicaSet, Some(&given), WAIT)
            .unwrap();
        assert_eq!(describe(&kept), "w=2 j=true wtimeout=4000ms");
        let journal_off = WriteConcern::builder().journal(false).build();
        let filled_in = WriteConcernSetting::Auto
            .resolve(Deployment::ReplicaSet, Some(&journal_off), WAIT)
            .unwrap();
        assert_eq!(describe(&filled_in), "w=majority j=false wtimeout=4000ms");
        let unacknowledged = WriteConcern::builder().w(Acknowledgment::Nodes(0)).build();
        let error = WriteConcernSetting::Auto
            .resolve(Deployment::ReplicaSet, Some(&unacknowledged), WAIT)
            .unwrap_err();
        assert!(error.contains("w=0"), "{error}");
        // An explicit setting overrides the connection string.
        let overridden = WriteConcernSetting::Majority
            .resolve(Deployment::ReplicaSet, Some(&given), WAIT)
            .unwrap();
        assert_eq!(describe(&overridden), "w=majority j=true wtimeout=4000ms");
    }
}
