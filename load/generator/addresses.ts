/** Real-looking (fictional) street addresses and the parcel facilities a package passes through. */
import type { Rng } from './random.ts';

export interface City {
  name: string;
  state: string;
  zip: string;
  /** Street address of the city's sorting facility (the hub a package passes through). */
  hubStreet: string;
}

export const CITIES: readonly City[] = [
  { name: 'Seattle', state: 'WA', zip: '98108', hubStreet: '6901 E Marginal Way S' },
  { name: 'Portland', state: 'OR', zip: '97218', hubStreet: '7700 NE Airport Way' },
  { name: 'Sacramento', state: 'CA', zip: '95838', hubStreet: '3775 Industrial Blvd' },
  { name: 'Oakland', state: 'CA', zip: '94621', hubStreet: '1675 7th St' },
  { name: 'Los Angeles', state: 'CA', zip: '90045', hubStreet: '5800 W Century Blvd' },
  { name: 'Phoenix', state: 'AZ', zip: '85043', hubStreet: '4949 E Van Buren St' },
  { name: 'Salt Lake City', state: 'UT', zip: '84104', hubStreet: '1760 W 2100 S' },
  { name: 'Denver', state: 'CO', zip: '80239', hubStreet: '7500 E 53rd Pl' },
  { name: 'Dallas', state: 'TX', zip: '75261', hubStreet: '2400 Dfw Airport Pkwy' },
  { name: 'Houston', state: 'TX', zip: '77032', hubStreet: '16201 Air Center Blvd' },
  { name: 'Kansas City', state: 'MO', zip: '64153', hubStreet: '1 Cargo Rd' },
  { name: 'Minneapolis', state: 'MN', zip: '55450', hubStreet: '3401 Cargo Rd' },
  { name: 'Chicago', state: 'IL', zip: '60666', hubStreet: '1100 Bessie Coleman Dr' },
  { name: 'Indianapolis', state: 'IN', zip: '46241', hubStreet: '2351 S Executive Dr' },
  { name: 'Louisville', state: 'KY', zip: '40209', hubStreet: '911 Grade Ln' },
  { name: 'Memphis', state: 'TN', zip: '38118', hubStreet: '3131 Democrat Rd' },
  { name: 'Atlanta', state: 'GA', zip: '30354', hubStreet: '1600 Aviation Blvd' },
  { name: 'Charlotte', state: 'NC', zip: '28208', hubStreet: '5501 Josh Birmingham Pkwy' },
  { name: 'Columbus', state: 'OH', zip: '43217', hubStreet: '7400 Alum Creek Dr' },
  { name: 'Pittsburgh', state: 'PA', zip: '15231', hubStreet: '1000 Airside Dr' },
  { name: 'Philadelphia', state: 'PA', zip: '19153', hubStreet: '7500 Holstein Ave' },
  { name: 'Newark', state: 'NJ', zip: '07114', hubStreet: '2 Brewster Rd' },
  { name: 'Boston', state: 'MA', zip: '02128', hubStreet: '150 Harborside Dr' },
  { name: 'Miami', state: 'FL', zip: '33122', hubStreet: '6500 NW 36th St' },
];

const STREET_NAMES = [
  'Maple',
  'Oak',
  'Cedar',
  'Pine',
  'Elm',
  'Washington',
  'Lincoln',
  'Jefferson',
  'Lake',
  'Hill',
  'Sunset',
  'Park',
  'Meadow',
  'River',
  'Highland',
  'Franklin',
  'Chestnut',
  'Willow',
  'Madison',
  'Spring',
  'Church',
  'Mill',
  'Ridge',
  'Orchard',
];
const STREET_SUFFIXES = ['St', 'Ave', 'Blvd', 'Rd', 'Ln', 'Dr', 'Ct', 'Way', 'Pl', 'Ter'];
const UNITS = ['Apt 2B', 'Suite 100', 'Unit 7', 'Apt 14', 'Floor 3'];

/** e.g. "1234 Maple Ave, Apt 2B, Denver, CO 80239" */
export function streetAddress(rng: Rng, city: City): string {
  const number = rng.int(10, 9899);
  const street = `${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`;
  const unit = rng.next() < 0.3 ? `, ${rng.pick(UNITS)}` : '';
  return `${number} ${street}${unit}, ${city.name}, ${city.state} ${city.zip}`;
}

/** e.g. "Sorting Facility, 3131 Democrat Rd, Memphis, TN 38118" — the same every time for one city. */
export function sortingFacility(city: City): string {
  return `Sorting Facility, ${city.hubStreet}, ${city.name}, ${city.state} ${city.zip}`;
}

/** The last-mile station a courier leaves from, one per city. */
export function deliveryStation(city: City): string {
  return `Delivery Station, ${city.hubStreet}, ${city.name}, ${city.state} ${city.zip}`;
}
