//! Orders (F05, F40): the small CRM side the inbox needs — a number, a status, items and their
//! total in one currency, where the client came from, and the dialog that produced it. A real
//! CRM can be the source of truth instead: it pushes and updates orders through the API.

use crate::error::{CoreError, CoreResult};
use crate::ids::{ClientId, DialogId, ManagerId, OrderId};
use crate::library::ClientSourceView;
use crate::time::Timestamp;
use crate::values::DisplayName;
use serde::{Deserialize, Serialize};

/// ISO 4217 codes of the currencies in use. Totals are kept in minor units; every code here
/// but those in [`NO_MINOR_UNITS`] has a hundred of them.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
     BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
     FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES \
     KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR \
     MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR \
     SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX \
     USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

/// Currencies whose totals have no fractional part.
const NO_MINOR_UNITS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";

/// A known ISO 4217 currency code, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> CoreResult<Currency> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == 3 && CURRENCIES.split_whitespace().any(|c| c == code) {
            Ok(Currency(code))
        } else {
            Err(CoreError::invalid(
                "currency",
                "must be a known ISO 4217 code such as RUB, EUR or USD",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many minor units make one major unit: 100, or 1 for the yen and its like.
    pub fn minor_per_major(&self) -> i64 {
        if NO_MINOR_UNITS.split_whitespace().any(|c| c == self.0) {
            1
        } else {
            100
        }
    }
}

/// An order's status: the CRM's own word for it ("new", "paid", "shipped"…), 1 to 40
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct OrderStatus(String);

impl OrderStatus {
    pub const MAX_CHARS: usize = 40;

    pub fn new_order() -> OrderStatus {
        OrderStatus("new".into())
    }

    pub fn parse(raw: &str) -> CoreResult<OrderStatus> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                "status",
                "must have 1 to 40 characters and no control characters",
            ));
        }
        Ok(OrderStatus(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderItem {
    pub name: String,
    /// At least 1.
    pub quantity: i64,
    /// The price of one, in minor units; never negative.
    pub price_minor: i64,
}

/// At most this many lines in one order.
pub const MAX_ITEMS: usize = 200;

impl OrderItem {
    fn checked(self, at: usize) -> CoreResult<OrderItem> {
        let name = DisplayName::parse(&format!("items[{at}].name"), &self.name)?;
        if !(1..=1_000_000).contains(&self.quantity) {
            return Err(CoreError::invalid(
                format!("items[{at}].quantity"),
                "must be from 1 to 1000000",
            ));
        }
        if self.price_minor < 0 {
            return Err(CoreError::invalid(
                format!("items[{at}].price_minor"),
                "must not be negative",
            ));
        }
        Ok(OrderItem {
            name: name.as_str().to_owned(),
            ..self
        })
    }

    fn sum_minor(&self) -> Option<i64> {
        self.quantity.checked_mul(self.price_minor)
    }
}

/// Checks the lines and what they come to; a total given without lines must not be negative.
pub fn priced(
    items: Vec<OrderItem>,
    total_minor: Option<i64>,
) -> CoreResult<(Vec<OrderItem>, i64)> {
    if items.len() > MAX_ITEMS {
        return Err(CoreError::invalid(
            "items",
            format!("must have at most {MAX_ITEMS} lines"),
        ));
    }
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| item.checked(i))
        .collect::<CoreResult<Vec<_>>>()?;
    let too_big = || CoreError::invalid("total_minor", "is too large");
    let total = match (items.is_empty(), total_minor) {
        (_, Some(t)) if t < 0 => {
            return Err(CoreError::invalid("total_minor", "must not be negative"));
        }
        (true, t) => t.unwrap_or(0),
        (false, given) => {
            let sum = items.iter().try_fold(0i64, |acc, item| {
                item.sum_minor().and_then(|s| acc.checked_add(s))
            });
            let sum = sum.ok_or_else(too_big)?;
            if given.is_some_and(|t| t != sum) {
                return Err(CoreError::invalid(
                    "total_minor",
                    "must be the sum of the items (or left out)",
                ));
            }
            sum
        }
    };
    Ok((items, total))
}

/// An order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    /// The order's number as people say it: the CRM's, or one Beseda gave it.
    pub number: String,
    pub client_id: ClientId,
    /// The dialog that produced it.
    pub dialog_id: Option<DialogId>,
    pub manager_id: Option<ManagerId>,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    /// In minor units (kopecks, cents): the sum of the items, or as given when it has none.
    pub total_minor: i64,
    pub currency: Currency,
    /// Where the client came from when the order was made (F05).
    pub source: Option<ClientSourceView>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An order to store, its values checked.
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// `None`: the store gives it the next number of its own.
    pub number: Option<String>,
    pub client_id: ClientId,
    pub dialog_id: Option<DialogId>,
    pub manager_id: Option<ManagerId>,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total_minor: i64,
    pub currency: Currency,
    /// Copy the client's source into the order (F05).
    pub with_source: bool,
    pub created_at: Timestamp,
}

/// A change to an order, its values checked; what is `None` stays.
#[derive(Clone, Debug, Default)]
pub struct OrderChange {
    pub status: Option<OrderStatus>,
    /// The new lines and their total.
    pub items: Option<(Vec<OrderItem>, i64)>,
    pub currency: Option<Currency>,
    pub dialog_id: Option<DialogId>,
}

/// An order number given by the caller: 1 to 40 printable characters.
pub fn order_number(raw: &str) -> CoreResult<String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 40 || s.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "number",
            "must have 1 to 40 characters and no control characters",
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(quantity: i64, price_minor: i64) -> OrderItem {
        OrderItem {
            name: "Tea".into(),
            quantity,
            price_minor,
        }
    }

    #[test]
    fn f40_currencies_are_known_iso_codes() {
        assert_eq!(Currency::parse(" rub ").unwrap().as_str(), "RUB");
        assert_eq!(Currency::parse("JPY").unwrap().minor_per_major(), 1);
        assert_eq!(Currency::parse("EUR").unwrap().minor_per_major(), 100);
        for bad in ["", "XXX", "RU", "RUBB", "₽"] {
            assert_eq!(Currency::parse(bad).unwrap_err().code(), "invalid_value");
        }
    }

    #[test]
    fn f40_the_total_is_the_sum_of_the_items_and_never_negative() {
        assert_eq!(
            priced(vec![item(2, 150), item(1, 50)], None).unwrap().1,
            350
        );
        assert_eq!(priced(vec![item(2, 150)], Some(300)).unwrap().1, 300);
        assert_eq!(priced(Vec::new(), Some(999)).unwrap().1, 999);
        assert!(
            priced(vec![item(2, 150)], Some(301)).is_err(),
            "a wrong sum"
        );
        assert!(priced(Vec::new(), Some(-1)).is_err());
        assert!(priced(vec![item(1, -5)], None).is_err());
        assert!(priced(vec![item(0, 5)], None).is_err());
        assert!(
            priced(vec![item(1_000_000, i64::MAX / 2)], None).is_err(),
            "overflow"
        );
        let blank = OrderItem {
            name: "  ".into(),
            ..item(1, 1)
        };
        assert!(priced(vec![blank], None).is_err());
    }
}
