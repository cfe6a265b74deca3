// read-baked.mjs reads the Open Badges 3.0 credential baked into a PNG or SVG
// image, independently of Touchstone's Go code (package credential/baked):
//
//   node read-baked.mjs <image.png|image.svg>
//
// PNG: the chunks come from png-chunks-extract (which checks each CRC); the
// first iTXt chunk whose keyword is "openbadgecredential" is parsed here
// field by field as PNG §11.3.4.5 defines it, and must be uncompressed, as
// Open Badges 3.0 requires. SVG: @xmldom/xmldom parses the document; the
// first element named "credential" in the Open Badges 3.0 namespace gives its
// verify attribute (VC-JWT) or else its text (JSON, CDATA).
//
// Prints one JSON object to stdout: {"format": "png"|"svg", "credential":
// "<text>"} and exits 0; {"error": "..."} and exits 1 when the image holds no
// credential or breaks the rules; exits 2 on a usage or input error.
import { readFileSync } from 'node:fs';
import extractChunks from 'png-chunks-extract';
import { DOMParser, onErrorStopParsing } from '@xmldom/xmldom';

const OB_NAMESPACE = 'https://purl.imsglobal.org/ob/v3p0';
const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';
const KEYWORD = 'openbadgecredential';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

class Rejected extends Error {}

function done(code, result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(code);
}

// fromPNG returns the text of the first openbadgecredential iTXt chunk.
function fromPNG(bytes) {
  let chunks;
  try {
    chunks = extractChunks(bytes);
  } catch (err) {
    throw new Rejected(`png: ${err.message}`);
  }
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (const { name, data } of chunks) {
    if (name !== 'iTXt') continue;
    // Keyword (Latin-1), NUL, compression flag, compression method,
    // language tag, NUL, translated keyword (UTF-8), NUL, text (UTF-8).
    const keywordEnd = data.indexOf(0);
    if (keywordEnd < 0 || latin1.decode(data.subarray(0, keywordEnd)) !== KEYWORD) continue;
    let at = keywordEnd + 1;
    if (data.length < at + 2) throw new Rejected('png: truncated iTXt chunk');
    const [compressionFlag, compressionMethod] = [data[at], data[at + 1]];
    if (compressionFlag !== 0) throw new Rejected('png: compressed openbadgecredential chunk');
    if (compressionMethod !== 0) throw new Rejected(`png: compression method ${compressionMethod}`);
    at += 2;
    for (const field of ['language tag', 'translated keyword']) {
      const end = data.indexOf(0, at);
      if (end < 0) throw new Rejected(`png: iTXt ${field} not terminated`);
      at = end + 1;
    }
    try {
      return utf8.decode(data.subarray(at)).trim();
    } catch {
      throw new Rejected('png: credential text is not UTF-8');
    }
  }
  throw new Rejected('png: no openbadgecredential iTXt chunk');
}

// fromSVG returns the verify attribute or the text of the first
// openbadges:credential element.
function fromSVG(bytes) {
  let text, doc;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Rejected('neither a PNG nor a UTF-8 SVG');
  }
  try {
    doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(text, 'image/svg+xml');
  } catch (err) {
    throw new Rejected(`svg: ${err.message}`);
  }
  const root = doc.documentElement;
  if (!root || root.localName !== 'svg' || root.namespaceURI !== SVG_NAMESPACE) {
    throw new Rejected('svg: the root element is not an SVG <svg>');
  }
  const element = doc.getElementsByTagNameNS(OB_NAMESPACE, 'credential')[0];
  if (!element) throw new Rejected('svg: no openbadges:credential element');
  const verify = element.getAttribute('verify');
  return (verify ? verify : element.textContent).trim();
}

const args = process.argv.slice(2);
if (args.length !== 1) {
  process.stderr.write('usage: node read-baked.mjs <image.png|image.svg>\n');
  done(2, { error: 'usage: node read-baked.mjs <image.png|image.svg>' });
}
let bytes;
try {
  bytes = readFileSync(args[0]);
} catch (err) {
  done(2, { error: err.message });
}
try {
  const isPNG = bytes.subarray(0, 8).equals(PNG_SIGNATURE);
  const credential = isPNG ? fromPNG(bytes) : fromSVG(bytes);
  if (credential === '') throw new Rejected('empty credential');
  done(0, { format: isPNG ? 'png' : 'svg', credential });
} catch (err) {
  if (err instanceof Rejected) done(1, { error: err.message });
  done(2, { error: String(err && err.message ? err.message : err) });
}
