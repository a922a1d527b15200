//! Real cities (GeoNames, via `data/cities.csv`) and the geometry the generator needs.
//!
//! The trigonometry is written out with `+ - * / sqrt` only: the platform's `sin`/`cos` may
//! differ in the last bit between C libraries, and the output must be the same bytes on every
//! machine. Accuracy (about 1e-12) is far beyond what the 4-decimal coordinates need.

use riskledger_events::{Country, Currency};

/// Radius of the sphere the policy measures on (`spec/policy.md`).
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;
/// Kilometres per degree of latitude on that sphere.
pub const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * PI / 180.0;
const PI: f64 = std::f64::consts::PI;

const CITIES_CSV: &str = include_str!("../data/cities.csv");

/// One city of the table.
#[derive(Clone, Debug)]
pub struct City {
    pub name: String,
    pub country: Country,
    /// Latitude and longitude in units of 1e-4 degree, as in the CSV.
    pub lat_e4: i32,
    pub lon_e4: i32,
    pub population: u64,
    pub currency: Currency,
    /// cos(latitude), for turning an east–west offset in km into degrees.
    pub cos_lat: f64,
}

impl City {
    pub fn lat(&self) -> f64 {
        f64::from(self.lat_e4) / 1e4
    }
    pub fn lon(&self) -> f64 {
        f64::from(self.lon_e4) / 1e4
    }
}

/// The city table, with lookups by country.
#[derive(Debug)]
pub struct Atlas {
    pub cities: Vec<City>,
    /// Cumulative weights for picking a home city: anyone, a client, a freelancer.
    anyone: Vec<u64>,
    clients: Vec<u64>,
    freelancers: Vec<u64>,
}

/// Who a home city is drawn for: clients come mostly from rich markets, freelancers mostly
/// from the countries that supply most remote freelance work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Market {
    Anyone,
    Clients,
    Freelancers,
}

const CLIENT_MARKETS: &[&str] = &[
    "US", "GB", "CA", "AU", "DE", "FR", "NL", "SE", "CH", "IE", "NZ", "SG", "AE", "IL", "JP", "ES",
    "IT", "BE", "DK", "NO", "AT", "FI",
];
const FREELANCER_MARKETS: &[&str] = &[
    "IN", "PH", "PK", "UA", "BD", "NG", "KE", "EG", "VN", "ID", "BR", "AR", "RS", "RO", "PL", "MX",
    "CO", "LK", "MA", "GE", "AM", "VE", "ZA", "TR",
];

fn cumulative(cities: &[City], boost: impl Fn(&City) -> u64) -> Vec<u64> {
    let mut total = 0u64;
    cities
        .iter()
        .map(|c| {
            // population^0.75: big cities dominate, small countries still appear.
            let root = integer_sqrt(c.population);
            total += (root * integer_sqrt(root)).max(1) * boost(c);
            total
        })
        .collect()
}

impl Atlas {
    /// Parses the embedded table. It is part of the crate, so a malformed row is a bug.
    pub fn embedded() -> Self {
        let cities: Vec<City> = CITIES_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(parse_row)
            .collect();
        let in_list = |list: &[&str], c: &City| list.contains(&c.country.as_str());
        Atlas {
            anyone: cumulative(&cities, |_| 1),
            clients: cumulative(&cities, |c| if in_list(CLIENT_MARKETS, c) { 12 } else { 1 }),
            freelancers: cumulative(
                &cities,
                |c| if in_list(FREELANCER_MARKETS, c) { 8 } else { 1 },
            ),
            cities,
        }
    }

    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }

    pub fn city(&self, index: u16) -> &City {
        &self.cities[usize::from(index)]
    }

    /// A home city for `market`, from a uniform draw in `[0, 2^64)`.
    pub fn weighted_city(&self, market: Market, draw: u64) -> u16 {
        let weights = match market {
            Market::Anyone => &self.anyone,
            Market::Clients => &self.clients,
            Market::Freelancers => &self.freelancers,
        };
        let total = *weights.last().expect("the table is not empty");
        let target = crate::rng::below_from(draw, total);
        weights.partition_point(|&w| w <= target) as u16
    }

    /// The other cities of the same country as `index`.
    pub fn same_country(&self, index: u16) -> Vec<u16> {
        let country = self.city(index).country;
        (0..self.cities.len() as u16)
            .filter(|&i| i != index && self.city(i).country == country)
            .collect()
    }

    /// Great-circle distance between two cities of the table.
    pub fn distance_km(&self, a: u16, b: u16) -> f64 {
        let (a, b) = (self.city(a), self.city(b));
        distance_km(a.lat(), a.lon(), b.lat(), b.lon())
    }
}

fn parse_row(line: &str) -> City {
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields.len(), 7, "data/cities.csv: bad row {line:?}");
    let degrees_e4 = |text: &str| -> i32 {
        let value: f64 = text.parse().expect("data/cities.csv: bad coordinate");
        (value * 1e4).round() as i32
    };
    let lat_e4 = degrees_e4(fields[3]);
    City {
        name: fields[1].to_owned(),
        country: Country::parse(fields[2]).expect("data/cities.csv: bad country"),
        lat_e4,
        lon_e4: degrees_e4(fields[4]),
        population: fields[5].parse().expect("data/cities.csv: bad population"),
        currency: Currency::parse(fields[6]).expect("data/cities.csv: bad currency"),
        cos_lat: cos(f64::from(lat_e4) / 1e4 * PI / 180.0),
    }
}

fn integer_sqrt(n: u64) -> u64 {
    let mut x = (n as f64).sqrt() as u64;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// Sine, by its Taylor series after reducing the angle to [-pi, pi].
pub fn sin(x: f64) -> f64 {
    let x = x - (x / (2.0 * PI)).round() * 2.0 * PI;
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    for n in 1..15 {
        let k = (2 * n) as f64;
        term *= -x2 / (k * (k + 1.0));
        sum += term;
    }
    sum
}

pub fn cos(x: f64) -> f64 {
    sin(x + PI / 2.0)
}

/// Arctangent, by halving the angle until the Taylor series converges fast.
pub fn atan(y: f64) -> f64 {
    if y < 0.0 {
        return -atan(-y);
    }
    if y > 1.0 {
        return PI / 2.0 - atan(1.0 / y);
    }
    // atan(y) = 2 atan(y / (1 + sqrt(1 + y^2))), twice: the argument drops below 0.2.
    let mut t = y;
    for _ in 0..2 {
        t /= 1.0 + (1.0 + t * t).sqrt();
    }
    let t2 = t * t;
    let mut power = t;
    let mut sum = 0.0;
    for n in 0..30 {
        sum += power / (2 * n + 1) as f64 * if n % 2 == 0 { 1.0 } else { -1.0 };
        power *= t2;
    }
    4.0 * sum
}

pub fn asin(x: f64) -> f64 {
    if x >= 1.0 {
        return PI / 2.0;
    }
    atan(x / (1.0 - x * x).sqrt())
}

/// Haversine distance on the policy's sphere.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let rad = PI / 180.0;
    let half_dlat = sin((lat2 - lat1) * rad / 2.0);
    let half_dlon = sin((lon2 - lon1) * rad / 2.0);
    let h = half_dlat * half_dlat + cos(lat1 * rad) * cos(lat2 * rad) * half_dlon * half_dlon;
    2.0 * EARTH_RADIUS_KM * asin(h.clamp(0.0, 1.0).sqrt())
}

/// A position near `city`, at most `radius_km` from its centre, in units of 1e-4 degree.
/// `draw` supplies the randomness (two 32-bit halves for the two offsets).
pub fn jitter_e4(city: &City, radius_km: f64, draw: u64) -> (i32, i32) {
    // A square of half-side radius/sqrt(2) fits inside the circle of that radius.
    let half_side_km = radius_km / std::f64::consts::SQRT_2;
    let unit = |bits: u64| (bits as f64 / u32::MAX as f64) * 2.0 - 1.0;
    let north_km = unit(draw & 0xffff_ffff) * half_side_km;
    let east_km = unit(draw >> 32) * half_side_km;
    let lat = city.lat() + north_km / KM_PER_DEGREE;
    let lon = city.lon() + east_km / (KM_PER_DEGREE * city.cos_lat.max(0.05));
    (
        (lat.clamp(-90.0, 90.0) * 1e4).round() as i32,
        (lon.clamp(-180.0, 180.0) * 1e4).round() as i32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigonometry_matches_the_platform_closely() {
        for i in -40..40 {
            let x = f64::from(i) * 0.37;
            assert!((sin(x) - x.sin()).abs() < 1e-12, "sin {x}");
            assert!((cos(x) - x.cos()).abs() < 1e-12, "cos {x}");
            assert!((atan(x) - x.atan()).abs() < 1e-12, "atan {x}");
        }
        for i in 0..=100 {
            let x = f64::from(i) / 100.0;
            assert!((asin(x) - x.asin()).abs() < 1e-7, "asin {x}");
        }
    }

    #[test]
    fn known_distance() {
        // Paris to London is about 344 km.
        let d = distance_km(48.8566, 2.3522, 51.5074, -0.1278);
        assert!((d - 343.5).abs() < 2.0, "{d}");
    }

    #[test]
    fn the_table_is_broad() {
        let atlas = Atlas::embedded();
        assert!(atlas.len() >= 300);
        let mut countries: Vec<_> = atlas.cities.iter().map(|c| c.country).collect();
        countries.sort();
        countries.dedup();
        assert!(countries.len() >= 100);
    }

    #[test]
    fn jitter_stays_within_its_radius() {
        let atlas = Atlas::embedded();
        for (i, city) in atlas.cities.iter().enumerate() {
            let (lat, lon) = jitter_e4(city, 6.0, crate::rng::mix64(i as u64 + 1));
            let d = distance_km(
                city.lat(),
                city.lon(),
                f64::from(lat) / 1e4,
                f64::from(lon) / 1e4,
            );
            assert!(d <= 6.1, "{} moved {d} km", city.name);
        }
    }
}
