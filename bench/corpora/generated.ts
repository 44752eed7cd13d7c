/**
 * Benign API traffic generated with @faker-js/faker (MIT), seeded so every
 * run sends the same requests: sign-ups, profiles, orders, reviews, support
 * tickets and searches, in English, German, French, Korean, Arabic, Japanese
 * and Russian. Names with apostrophes (O'Keefe), street addresses, company
 * slogans, product descriptions, passwords with punctuation, URLs, user
 * agents and free text are what make a WAF misfire.
 */
import { fakerAR, fakerDE, fakerEN, fakerFR, fakerJA, fakerKO, fakerRU, type Faker } from '@faker-js/faker';

export interface BenignRequest {
  kind: 'json' | 'form' | 'query';
  locale: string;
  /** JSON body, form body (urlencoded) or query string. */
  payload: string;
  userAgent: string;
}

const LOCALES: ReadonlyArray<readonly [string, Faker]> = [
  ['en', fakerEN],
  ['de', fakerDE],
  ['fr', fakerFR],
  ['ko', fakerKO],
  ['ar', fakerAR],
  ['ja', fakerJA],
  ['ru', fakerRU],
];

function profile(f: Faker): Record<string, unknown> {
  const first = f.person.firstName();
  const last = f.person.lastName();
  return {
    first_name: first,
    last_name: last,
    username: f.internet.username({ firstName: first, lastName: last }),
    email: f.internet.email({ firstName: first, lastName: last }),
    password: f.internet.password({ length: 14, memorable: false, pattern: /[\x21-\x7e]/ }),
    phone: f.phone.number(),
    bio: f.person.bio(),
    job: f.person.jobTitle(),
    website: f.internet.url(),
    avatar: f.image.avatar(),
    address: {
      street: f.location.streetAddress({ useFullAddress: true }),
      city: f.location.city(),
      zip: f.location.zipCode(),
      state: f.location.state(),
      country: f.location.country(),
    },
    company: { name: f.company.name(), slogan: f.company.catchPhrase(), bs: f.company.buzzPhrase() },
    birthday: f.date.birthdate().toISOString(),
    tags: f.helpers.multiple(() => f.word.sample(), { count: 3 }),
  };
}

function order(f: Faker): Record<string, unknown> {
  return {
    order_id: f.string.uuid(),
    customer: f.person.fullName(),
    items: f.helpers.multiple(
      () => ({ sku: f.commerce.isbn(), name: f.commerce.productName(), description: f.commerce.productDescription(), price: f.commerce.price(), quantity: f.number.int({ min: 1, max: 9 }) }),
      { count: { min: 1, max: 4 } },
    ),
    shipping: { name: f.person.fullName(), line1: f.location.streetAddress(), line2: f.location.secondaryAddress(), city: f.location.city(), postcode: f.location.zipCode() },
    note: f.lorem.sentence(),
    coupon: f.string.alphanumeric(8).toUpperCase(),
    callback_url: `${f.internet.url()}/hooks/${f.string.alphanumeric(12)}`,
  };
}

function review(f: Faker): Record<string, unknown> {
  return {
    product: f.commerce.productName(),
    rating: f.number.int({ min: 1, max: 5 }),
    title: f.company.catchPhrase(),
    body: `${f.lorem.paragraph()} ${f.hacker.phrase()}`,
    author: `${f.person.firstName()} ${f.person.lastName()}`,
  };
}

function ticket(f: Faker): Record<string, unknown> {
  return {
    subject: f.hacker.phrase(),
    description: [f.hacker.phrase(), f.lorem.paragraphs(2), f.git.commitMessage()].join('\n\n'),
    commit: f.git.commitSha(),
    branch: f.git.branch(),
    severity: f.helpers.arrayElement(['low', 'medium', 'high']),
    reporter: f.internet.email(),
    attachment: f.system.commonFileName(),
    ip: f.internet.ipv4(),
    mac: f.internet.mac(),
    token: f.internet.jwt(),
  };
}

function formOf(data: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' || typeof value === 'number') params.append(key, String(value));
  }
  return params.toString();
}

/** `count` requests per locale: a mix of JSON bodies, forms and search queries. */
/** `seed`: 20260101 is the dev set everyone tuned against; another seed gives unseen requests of the same shapes (the held-out set). */
export function generatedRequests(count: number, seed = 20260101): BenignRequest[] {
  const out: BenignRequest[] = [];
  for (const [locale, f] of LOCALES) {
    f.seed(seed);
    for (let i = 0; i < count; i++) {
      const userAgent = f.internet.userAgent();
      switch (i % 5) {
        case 0:
          out.push({ kind: 'json', locale, payload: JSON.stringify(profile(f)), userAgent });
          break;
        case 1:
          out.push({ kind: 'json', locale, payload: JSON.stringify(order(f)), userAgent });
          break;
        case 2:
          out.push({ kind: 'json', locale, payload: JSON.stringify(review(f)), userAgent });
          break;
        case 3:
          out.push({ kind: 'form', locale, payload: formOf({ ...profile(f), ...ticket(f) }), userAgent });
          break;
        default: {
          const q = new URLSearchParams({
            q: f.helpers.arrayElement([f.commerce.productName(), f.person.fullName(), f.location.streetAddress(), f.lorem.words(3), f.company.catchPhrase()]),
            page: String(f.number.int({ min: 1, max: 40 })),
            sort: f.helpers.arrayElement(['price', '-price', 'created_at', 'name']),
            from: f.date.past().toISOString().slice(0, 10),
            ref: f.internet.url(),
          });
          out.push({ kind: 'query', locale, payload: q.toString(), userAgent });
        }
      }
    }
  }
  return out;
}
