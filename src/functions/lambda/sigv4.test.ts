/**
 * aws4, which signs the gateway's Lambda and STS calls, against AWS's
 * published Signature Version 4 test suite (aws-sig-v4-test-suite: the
 * example keys, 2015-08-30T12:36:00Z, us-east-1, service "service").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import aws4 from 'aws4';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const scope = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

describe('SigV4 (aws4) against AWS\'s published test suite', () => {
  for (const c of [
    { name: 'get-vanilla', method: 'GET', path: '/', want: 'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
    { name: 'post-vanilla', method: 'POST', path: '/', want: 'SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
    {
      name: 'get-vanilla-query-order-key-case',
      method: 'GET',
      path: '/?Param2=value2&Param1=value1',
      want: 'SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    },
  ]) {
    it(c.name, () => {
      const signed = aws4.sign(
        { host: 'example.amazonaws.com', method: c.method, path: c.path, service: 'service', region: 'us-east-1', headers: { 'X-Amz-Date': '20150830T123600Z' }, doNotModifyHeaders: false },
        credentials,
      );
      assert.equal((signed.headers as Record<string, string>).Authorization, `${scope}, ${c.want}`);
    });
  }
});
