//! An ordered, named list of connectors that users can inspect and edit (RLlib's
//! `ConnectorPipelineV2`: `insert_before`, `insert_after`, `append`, `prepend`, `remove`).

use serde::{Deserialize, Serialize};

use super::ConnectorError;

/// What a [`Pipeline`] needs of its connectors, whatever their kind: a name to find them by
/// and their state. rl-core implements it for `dyn EnvToModule`, `dyn ModuleToEnv` and
/// `dyn LearnerConnector` from the methods of those traits; a connector implements its
/// kind's trait, not this one.
pub trait Connector {
    /// The connector's name (by default its type's name, e.g. `"MeanStdFilter"`).
    fn name(&self) -> &str;
    /// Its state; `None` for stateless connectors.
    fn get_state(&self) -> Option<serde_json::Value>;
    /// Restores a state from [`get_state`](Connector::get_state).
    fn set_state(&mut self, state: &serde_json::Value) -> Result<(), ConnectorError>;
}

/// A type's name without its module path or generic arguments
/// (`"rl_core::connectors::env_to_module::MeanStdFilter"` → `"MeanStdFilter"`): the
/// default connector name, which equals the tag typetag gives the type.
pub fn short_type_name(full: &'static str) -> &'static str {
    let path = full.split('<').next().unwrap_or(full);
    path.rsplit("::").next().unwrap_or(path)
}

/// One connector's state in a pipeline, with the connector's name (checked on restore).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateEntry {
    /// The connector's name.
    pub name: String,
    /// Its state; `None` for stateless connectors.
    pub state: Option<serde_json::Value>,
}

/// An ordered list of connectors of one kind (`C` is `dyn EnvToModule`, `dyn ModuleToEnv`
/// or `dyn LearnerConnector`). Serializes as a list of tagged connectors (typetag), so
/// pipelines travel inside configs.
#[derive(Serialize, Deserialize)]
#[serde(
    transparent,
    bound(
        serialize = "Box<C>: Serialize",
        deserialize = "Box<C>: Deserialize<'de>"
    )
)]
pub struct Pipeline<C: ?Sized> {
    connectors: Vec<Box<C>>,
}

impl<C: ?Sized> Default for Pipeline<C> {
    fn default() -> Self {
        Pipeline {
            connectors: Vec::new(),
        }
    }
}

impl<C: ?Sized + Connector> std::fmt::Debug for Pipeline<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl<C: ?Sized + Connector> Pipeline<C> {
    /// A pipeline of these connectors, in order.
    pub fn new(connectors: Vec<Box<C>>) -> Self {
        Pipeline { connectors }
    }

    /// The connectors' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.connectors.iter().map(|c| c.name()).collect()
    }

    /// Number of connectors.
    pub fn len(&self) -> usize {
        self.connectors.len()
    }

    /// Whether the pipeline has no connector.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }

    /// The connectors, in order.
    pub fn connectors(&self) -> &[Box<C>] {
        &self.connectors
    }

    /// The connectors, in order, mutably (the pipeline runs them this way).
    pub fn connectors_mut(&mut self) -> &mut [Box<C>] {
        &mut self.connectors
    }

    fn position(&self, name: &str) -> Result<usize, ConnectorError> {
        self.connectors
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| ConnectorError::NotFound {
                name: name.to_string(),
                present: self.names().iter().map(|s| s.to_string()).collect(),
            })
    }

    /// The first connector named `name`.
    pub fn get(&self, name: &str) -> Option<&C> {
        self.connectors
            .iter()
            .find(|c| c.name() == name)
            .map(|c| &**c)
    }

    /// The first connector named `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut C> {
        self.connectors
            .iter_mut()
            .find(|c| c.name() == name)
            .map(|c| &mut **c)
    }

    /// Adds a connector at the end.
    pub fn append(&mut self, connector: Box<C>) -> &mut Self {
        self.connectors.push(connector);
        self
    }

    /// Adds a connector at the start.
    pub fn prepend(&mut self, connector: Box<C>) -> &mut Self {
        self.connectors.insert(0, connector);
        self
    }

    /// Inserts a connector before the one named `name`.
    pub fn insert_before(
        &mut self,
        name: &str,
        connector: Box<C>,
    ) -> Result<&mut Self, ConnectorError> {
        let i = self.position(name)?;
        self.connectors.insert(i, connector);
        Ok(self)
    }

    /// Inserts a connector after the one named `name`.
    pub fn insert_after(
        &mut self,
        name: &str,
        connector: Box<C>,
    ) -> Result<&mut Self, ConnectorError> {
        let i = self.position(name)?;
        self.connectors.insert(i + 1, connector);
        Ok(self)
    }

    /// Removes and returns the connector named `name`.
    pub fn remove(&mut self, name: &str) -> Result<Box<C>, ConnectorError> {
        let i = self.position(name)?;
        Ok(self.connectors.remove(i))
    }

    /// Replaces the connector named `name`, returning the old one.
    pub fn replace(&mut self, name: &str, connector: Box<C>) -> Result<Box<C>, ConnectorError> {
        let i = self.position(name)?;
        Ok(std::mem::replace(&mut self.connectors[i], connector))
    }
}

impl<C: ?Sized + Connector> Pipeline<C> {
    /// Every connector's state with its name, in order (what checkpoints store).
    pub fn state_entries(&self) -> Vec<ConnectorStateEntry> {
        self.connectors
            .iter()
            .map(|c| ConnectorStateEntry {
                name: c.name().to_string(),
                state: c.get_state(),
            })
            .collect()
    }

    /// Checks that `saved` comes from a pipeline with the same connectors in the same order.
    pub fn check_state_entries(&self, saved: &[ConnectorStateEntry]) -> Result<(), ConnectorError> {
        let same = saved.len() == self.connectors.len()
            && saved
                .iter()
                .zip(&self.connectors)
                .all(|(e, c)| e.name == c.name());
        if same {
            Ok(())
        } else {
            Err(ConnectorError::StateMismatch {
                saved: saved.iter().map(|e| e.name.clone()).collect(),
                present: self.names().into_iter().map(String::from).collect(),
            })
        }
    }

    /// Restores the states from [`state_entries`](Self::state_entries) after checking
    /// the connectors match; stateless entries are skipped.
    pub fn set_state_entries(
        &mut self,
        saved: &[ConnectorStateEntry],
    ) -> Result<(), ConnectorError> {
        self.check_state_entries(saved)?;
        for (c, e) in self.connectors.iter_mut().zip(saved) {
            if let Some(s) = &e.state {
                c.set_state(s)?;
            }
        }
        Ok(())
    }
}

impl<C: ?Sized + Connector> Pipeline<C>
where
    Box<C>: Serialize + for<'de> Deserialize<'de>,
{
    /// A copy made through JSON, as every connector is a serializable plugin; errors when a
    /// connector does not survive the round trip (configs check this in `validate()`, so
    /// the runners' copies cannot fail later).
    pub fn try_clone(&self) -> Result<Self, ConnectorError> {
        let bad = |e: serde_json::Error| ConnectorError::BadInput {
            connector: self.names().join(", "),
            reason: format!("the pipeline does not round-trip through JSON: {e}"),
        };
        serde_json::from_value(serde_json::to_value(self).map_err(bad)?).map_err(bad)
    }
}

/// Declares the `Clone…` supertrait of a connector kind (`CloneEnvToModule`, …), its
/// blanket implementation for every `Clone` connector, and `Clone` for the boxed kind.
macro_rules! connector_clone {
    ($kind:ident, $clone:ident) => {
        #[doc = concat!(
            "Copies a [`", stringify!($kind), "`] behind its box, so that pipelines clone ",
            "without fail. Implemented for every `Clone` connector: derive `Clone` and there ",
            "is nothing to write."
        )]
        pub trait $clone {
            /// A boxed copy of this connector.
            fn clone_box(&self) -> Box<dyn $kind>;
        }

        impl<T: $kind + Clone + 'static> $clone for T {
            fn clone_box(&self) -> Box<dyn $kind> {
                Box::new(self.clone())
            }
        }

        impl Clone for Box<dyn $kind> {
            fn clone(&self) -> Self {
                self.clone_box()
            }
        }
    };
}
pub(crate) use connector_clone;

impl<C: ?Sized> Clone for Pipeline<C>
where
    Box<C>: Clone,
{
    /// Copies every connector; infallible. Each connector kind requires `Clone`
    /// (`#[derive(Clone)]` is all a connector needs; see `CloneEnvToModule` and its
    /// siblings). [`Pipeline::try_clone`] instead copies through JSON, which checks that
    /// the pipeline serializes.
    fn clone(&self) -> Self {
        Pipeline {
            connectors: self.connectors.clone(),
        }
    }
}

impl<C: ?Sized + Connector> PartialEq for Pipeline<C>
where
    Box<C>: Serialize,
{
    /// Pipelines are equal when they serialize alike: same connectors, same settings.
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}
