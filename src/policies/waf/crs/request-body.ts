/**
 * Fills the transaction from the request body with the processor phase 1
 * chose (ctl:requestBodyProcessor) or the Content-Type's own: URLENCODED,
 * MULTIPART, JSON, XML. A body that does not parse sets REQBODY_ERROR, which
 * CRS's 200002-style rules and 920 rules read.
 */
import { parseJson, parseMultipart, parseUrlEncoded, parseXml, type BodyLimits, type BodyResult } from './bodies.js';
import type { Transaction } from './transaction.js';

export function processorFor(tx: Transaction, contentType: string): string | undefined {
  if (tx.bodyProcessor) return tx.bodyProcessor;
  const ct = contentType.toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) return 'URLENCODED';
  if (ct.startsWith('multipart/form-data')) return 'MULTIPART';
  return undefined;
}

export function processBody(tx: Transaction, body: Buffer, contentType: string, limits: BodyLimits): void {
  const processor = processorFor(tx, contentType);
  const text = body.toString('latin1');
  tx.scalars.set('REQUEST_BODY_LENGTH', String(body.length));
  tx.scalars.set('FULL_REQUEST_LENGTH', String(body.length));
  if (processor) tx.scalars.set('REQBODY_PROCESSOR', processor);
  // REQUEST_BODY holds the raw body for every processor but XML and MULTIPART, whose parts the rules read instead
  // (CRS's 934210 reads a JSON body's keys there; 944100 must not see an XML element's name there)
  if (processor !== 'XML' && processor !== 'MULTIPART') tx.scalars.set('REQUEST_BODY', text);
  let result: BodyResult = { error: undefined };
  switch (processor) {
    case 'URLENCODED':
      result = parseUrlEncoded(text, tx.argsPost, limits);
      tx.scalars.set('REQUEST_BODY', text);
      break;
    case 'JSON':
      result = parseJson(body, tx.argsPost, limits);
      break;
    case 'XML': {
      const xml = parseXml(body, limits);
      tx.xml = { texts: xml.texts, attributes: xml.attributes, textNames: xml.textNames, attributeNames: xml.attributeNames };
      result = xml;
      break;
    }
    case 'MULTIPART': {
      const mp = parseMultipart(body, contentType, limits);
      let combined = 0;
      for (const part of mp.parts) {
        for (const h of part.headers) tx.partHeaders.add(part.name, h);
        if (part.filename !== undefined) {
          tx.files.add(part.name, part.filename);
          tx.fileSizes.add(part.name, String(part.value.length));
          combined += part.value.length;
        } else tx.argsPost.add(part.name, part.value);
      }
      tx.scalars.set('FILES_COMBINED_SIZE', String(combined));
      tx.scalars.set('MULTIPART_STRICT_ERROR', mp.strictError ? '1' : '0');
      tx.scalars.set('MULTIPART_UNMATCHED_BOUNDARY', mp.unmatchedBoundary ? '1' : '0');
      result = mp;
      break;
    }
    default:
      // no processor: the body is one value, REQUEST_BODY, as ModSecurity offers it
      tx.scalars.set('REQUEST_BODY', text);
  }
  if (tx.forceBodyVariable) tx.scalars.set('REQUEST_BODY', text);
  if (result.error !== undefined) {
    tx.scalars.set('REQBODY_ERROR', '1');
    tx.scalars.set('REQBODY_PROCESSOR_ERROR', '1');
    tx.scalars.set('REQBODY_ERROR_MSG', result.error);
  }
  tx.updateCombinedSize();
  (tx as { bodyProcessed?: () => void }).bodyProcessed?.();
}
