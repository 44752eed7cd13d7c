/** The `portcullis ca` lines of `portcullis --help` (kept apart so --help loads no X.509 code). */
export const CA_HELP = `  portcullis ca init [--dir DIR] [--name NAME] [--ttl 3650d] [--key-type ec|rsa] [--crl-url URL] [--crl-ttl 7d]
      Create a CA in DIR (default ./ca): ca.crt, ca.key (mode 0600), crl.pem.
  portcullis ca issue [--dir DIR] --spiffe spiffe://DOMAIN/ns/NS/sa/NAME [--dns NAME]... [--ip ADDR]...
                      [--email ADDR]... [--cn NAME] [--org NAME] [--ttl 24h] [--usage both|server|client] [--out PREFIX]
      Issue a leaf certificate: PREFIX.crt and PREFIX.key (mode 0600).
  portcullis ca inspect FILE
      Print subject, names, validity, serial and fingerprints of each certificate in FILE.
  portcullis ca revoke [--dir DIR] (CERT-FILE | --serial HEX) [--reason keyCompromise|superseded|...]
  portcullis ca crl [--dir DIR]
      Revoke a certificate / rewrite crl.pem (a CRL lapses after --crl-ttl; rewrite it before).
  Every ca command takes --passphrase-env VAR when the CA key is (to be) encrypted.
`;
