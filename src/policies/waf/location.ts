/** The part of a request a value was found in: what matches, exclusions and events name. */
export type Location = 'path' | 'query' | 'header' | 'cookie' | 'body';
