//! A user's parts list for `llmrig build check`: the TOML file's (and the command line's)
//! fields, and each line resolved against the catalog with its quantity and price. Reading the
//! file is the caller's; [`super::verdict`] judges the resolved list.
use crate::catalog::{preferred_price, CatalogError, Entry, Price, PriceKind, Table};
use crate::plan::parts::PartLine;
use serde::{Deserialize, Serialize};

/// A parts list: every field is optional, and missing parts are findings, not errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartsList {
    /// What the build is called in the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Identical machines joined by a network (default 1).
    #[serde(default)]
    pub nodes: Option<u32>,
    /// The motherboard or GPU server (a catalog platform).
    #[serde(default, alias = "platform")]
    pub board: Option<Item>,
    #[serde(default)]
    pub cpu: Option<Item>,
    #[serde(default)]
    pub ram: Option<Item>,
    /// The GPUs of one node: `"4xv100-pcie-32gb"` or `{ id = …, quantity = 4 }`.
    #[serde(default)]
    pub gpu: Option<Item>,
    #[serde(default)]
    pub storage: Option<Item>,
    #[serde(default)]
    pub psu: Option<Item>,
    #[serde(default)]
    pub case: Option<Item>,
    #[serde(default)]
    pub cooler: Option<Item>,
    /// A network adapter per node (or a cable joining whole machines).
    #[serde(default)]
    pub network: Option<Item>,
    /// An open frame that holds the cards on risers instead of a case.
    #[serde(default)]
    pub frame: Option<Item>,
    /// PCIe risers (one per card moved off the board).
    #[serde(default)]
    pub riser: Option<Item>,
    /// The branch circuit each node plugs into (a catalog circuit id, e.g. `us-15a-120v`).
    #[serde(default)]
    pub circuit: Option<String>,
}

impl PartsList {
    /// This list with every field `other` sets replacing its own (the command line over the file).
    pub fn overlaid(self, other: PartsList) -> PartsList {
        PartsList {
            name: other.name.or(self.name),
            nodes: other.nodes.or(self.nodes),
            board: other.board.or(self.board),
            cpu: other.cpu.or(self.cpu),
            ram: other.ram.or(self.ram),
            gpu: other.gpu.or(self.gpu),
            storage: other.storage.or(self.storage),
            psu: other.psu.or(self.psu),
            case: other.case.or(self.case),
            cooler: other.cooler.or(self.cooler),
            network: other.network.or(self.network),
            frame: other.frame.or(self.frame),
            riser: other.riser.or(self.riser),
            circuit: other.circuit.or(self.circuit),
        }
    }
}

/// One line of the list: a catalog id (`"corsair-ax1600i"`, `"2xsamsung-…"`), or a table with
/// a quantity and, where the catalog has no price or you paid another, your own dated price.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Id(String),
    Spec(ItemSpec),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// Catalog id or alias; absent for a part the catalog lacks (then `name`).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quantity: Option<u32>,
    /// Your price for one unit, USD; needs `date`.
    #[serde(default)]
    pub usd: Option<f64>,
    /// When you saw or paid it, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// `street-new`, `used`, `launch-msrp` or `estimate` (default).
    #[serde(default)]
    pub kind: Option<PriceKind>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a catalog id such as \"corsair-ax1600i\" or \"4xv100-pcie-32gb\", or a table { id, quantity, usd, date, source }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Item, E> {
                Ok(Item::Id(v.to_owned()))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> Result<Item, M::Error> {
                ItemSpec::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(Item::Spec)
            }
        }
        d.deserialize_any(V)
    }
}

impl Item {
    /// The item as a spec: `"4xid"` becomes id with quantity 4.
    pub fn spec(&self) -> ItemSpec {
        match self {
            Item::Spec(s) => s.clone(),
            Item::Id(s) => {
                let counted = s.split_once(['x', '×']).and_then(|(n, id)| {
                    let n: u32 = n.trim().parse().ok()?;
                    Some((n, id.trim().to_owned()))
                });
                match counted {
                    Some((n, id)) => ItemSpec {
                        id: Some(id),
                        quantity: Some(n),
                        ..ItemSpec::default()
                    },
                    None => ItemSpec {
                        id: Some(s.trim().to_owned()),
                        ..ItemSpec::default()
                    },
                }
            }
        }
    }
}

/// A parts list that cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{field}: {source}")]
    Unknown {
        field: &'static str,
        source: Box<CatalogError>,
    },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// A resolved line: the catalog entry (if any), its quantity and the user's price.
pub(super) struct Line<'a, T> {
    pub entry: Option<&'a T>,
    pub spec: ItemSpec,
    pub quantity: u32,
}

pub(super) fn resolve<'a, T: Entry>(
    table: &'a Table<T>,
    field: &'static str,
    item: Option<&Item>,
    default_quantity: u32,
) -> Result<Option<Line<'a, T>>, CheckError> {
    let Some(item) = item else { return Ok(None) };
    let spec = item.spec();
    let entry = match &spec.id {
        Some(id) => Some(table.resolve(id).map_err(|source| CheckError::Unknown {
            field,
            source: Box::new(source),
        })?),
        None if spec.name.is_none() => {
            return Err(CheckError::Invalid {
                field,
                message: "give a catalog 'id' or, for a part the catalog lacks, a 'name'".into(),
            })
        }
        None => None,
    };
    let quantity = spec.quantity.unwrap_or(default_quantity);
    if quantity == 0 || quantity > 1024 {
        return Err(CheckError::Invalid {
            field,
            message: format!("quantity must be between 1 and 1024 (got {quantity})"),
        });
    }
    match (spec.usd, &spec.date) {
        (Some(usd), Some(date)) => {
            if !(usd.is_finite() && usd > 0.0 && usd < 1e9) {
                return Err(CheckError::Invalid {
                    field,
                    message: format!("usd must be a positive price (got {usd})"),
                });
            }
            if crate::plan::rank::price_age_months(date, date).is_none() {
                return Err(CheckError::Invalid {
                    field,
                    message: format!("date '{date}' is not YYYY-MM or YYYY-MM-DD"),
                });
            }
        }
        (Some(_), None) => {
            return Err(CheckError::Invalid {
                field,
                message: "a price needs its date: add date = \"YYYY-MM\"".into(),
            })
        }
        (None, Some(_)) => {
            return Err(CheckError::Invalid {
                field,
                message: "date without usd".into(),
            })
        }
        (None, None) => {}
    }
    Ok(Some(Line {
        entry,
        spec,
        quantity,
    }))
}

impl<T: Entry> Line<'_, T> {
    /// The user's price, else the catalog's preferred one.
    fn price(&self, file: &str) -> Option<Price> {
        match (self.spec.usd, &self.spec.date) {
            (Some(usd), Some(date)) => Some(Price {
                usd,
                kind: self.spec.kind.unwrap_or(PriceKind::Estimate),
                date: date.clone(),
                source: self.spec.source.clone().unwrap_or_else(|| file.to_owned()),
                note: Some("your price, from the parts list".into()),
            }),
            _ => self
                .entry
                .and_then(|e| preferred_price(e.prices()).cloned()),
        }
    }

    pub fn name(&self) -> String {
        self.entry
            .map(|e| e.name().to_owned())
            .or_else(|| self.spec.name.clone())
            .unwrap_or_default()
    }

    pub fn part_line(&self, kind: &'static str, file: &str) -> PartLine {
        let price = self.price(file);
        PartLine {
            kind,
            id: self.entry.map(|e| e.id().to_owned()),
            name: self.name(),
            quantity: self.quantity,
            total_usd: price.as_ref().map(|p| p.usd * self.quantity as f64),
            unit_price: price,
            price_age_months: None,
            note: match (self.entry, self.spec.usd) {
                (None, _) => Some("not in the catalog: not checked".into()),
                (Some(_), None) if self.entry.is_some_and(|e| e.prices().is_empty()) => {
                    Some("the catalog has no dated price: add usd and date to price it".into())
                }
                _ => None,
            },
        }
    }
}
