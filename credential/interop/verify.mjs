// verify.mjs checks a Touchstone credential with Digital Bazaar's own verifier
// (@digitalbazaar/vc, Data Integrity, eddsa-rdfc-2022), independently of the
// Go code that signed it.
//
// Usage: node verify.mjs <credential.json> <controller.json> <contextsDir> [<statusDir>] [--now=<ISO date>]
//
// statusDir, when given, holds the issuer's status list credentials and an
// index.json {"documents": [{"url": "...", "file": "..."}]}. A credential
// with a credentialStatus is then checked with Digital Bazaar's
// vc-bitstring-status-list (the list credential's own proof included); a set
// bit fails the verification with "revoked" or "suspended". Touchstone names
// only its revocation list in the credential (the Open Badges 3.0 schema
// allows one credentialStatus); its suspension bit is at the same index of
// the sibling list ".../suspension", which is checked the same way when the
// status folder holds it. --now sets the verifier's clock (validFrom /
// validUntil are judged at that instant).
//
// contextsDir holds JSON-LD context files and an index.json of the form
// {"contexts": [{"url": "...", "file": "..."}]} (package proof's embedded
// contexts, or the shared openbadges folder). The document loader serves only
// those contexts, the controller document (at its id) and its verification
// methods; every other URL is refused, so nothing comes from the network.
//
// Prints one JSON object {verified, errors, loaded} on stdout; exits 0 when
// the credential verifies, 1 when it does not, 2 on a usage or input error.
import {readFile} from 'node:fs/promises';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

async function readJSON(file) {
  return JSON.parse(await readFile(file, 'utf8'));
}

async function main(argv) {
  const now = argv.find(a => a.startsWith('--now='))?.slice('--now='.length);
  argv = argv.filter(a => !a.startsWith('--now='));
  if(argv.length !== 3 && argv.length !== 4) {
    throw new UsageError(
      'usage: node verify.mjs <credential.json> <controller.json> <contextsDir> [<statusDir>] [--now=<ISO date>]');
  }
  const [credentialFile, controllerFile, contextsDir, statusDir] = argv;
  const credential = await readJSON(credentialFile);
  const controller = await readJSON(controllerFile);
  const index = await readJSON(path.join(contextsDir, 'index.json'));

  const documents = new Map();
  for(const {url, file} of index.contexts ?? []) {
    documents.set(url, await readJSON(path.join(contextsDir, file)));
  }
  if(typeof controller.id !== 'string') {
    throw new UsageError(`${controllerFile}: controller document has no id`);
  }
  documents.set(controller.id, controller);
  for(const vm of [controller.verificationMethod ?? []].flat()) {
    if(vm && typeof vm === 'object' && typeof vm.id === 'string') {
      documents.set(vm.id, {'@context': MULTIKEY_CONTEXT, ...vm});
    }
  }

  if(statusDir) {
    const statusIndex = await readJSON(path.join(statusDir, 'index.json'));
    for(const {url, file} of statusIndex.documents ?? []) {
      documents.set(url, await readJSON(path.join(statusDir, file)));
    }
  }

  const loaded = [];
  const documentLoader = async url => {
    if(!documents.has(url)) {
      throw new Error(`offline document loader: refusing to load ${url}`);
    }
    loaded.push(url);
    return {
      contextUrl: null,
      documentUrl: url,
      // a fresh copy: the libraries may modify what they load
      document: structuredClone(documents.get(url))
    };
  };

  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const statuses = [];
  const check = async options => {
    const r = await checkStatus(options);
    statuses.push(...(r.results ?? []));
    return r;
  };
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, checkStatus: check, ...(now ? {now} : {})
  });
  const errors = collectErrors(result);
  let verified = result.verified === true;
  // The sibling suspension list (see above), checked by the same library.
  const entry = [credential.credentialStatus ?? []].flat()[0];
  const sibling = entry?.statusListCredential?.replace(/\/revocation$/, '/suspension');
  if(verified && sibling && sibling !== entry.statusListCredential && documents.has(sibling)) {
    const suspension = {
      ...entry, id: `${sibling}#${entry.statusListIndex}`,
      statusPurpose: 'suspension', statusListCredential: sibling
    };
    const r = await checkStatus({
      credential: {...credential, credentialStatus: suspension}, suite, documentLoader
    });
    if(!r.verified) {
      verified = false;
      errors.push(...collectErrors(r));
    }
    statuses.push(...(r.results ?? []));
  }
  for(const s of statuses) {
    if(s.status === true) {
      verified = false;
      errors.push(s.credentialStatus.statusPurpose === 'suspension' ? 'suspended' : 'revoked');
    }
  }
  return {
    verified,
    errors,
    status: statuses.map(s => ({purpose: s.credentialStatus?.statusPurpose, set: s.status})),
    loaded: [...new Set(loaded)]
  };
}

// collectErrors gathers the messages of every error in a verification result.
function collectErrors(result) {
  const messages = [];
  const add = err => {
    if(!err) {
      return;
    }
    for(const e of [err].flat()) {
      messages.push(String(e.message ?? e));
      if(Array.isArray(e.errors)) {
        e.errors.forEach(add);
      }
    }
  };
  add(result.error);
  for(const r of result.results ?? []) {
    add(r.error);
    add(r.purposeResult?.error);
  }
  return [...new Set(messages)];
}

class UsageError extends Error {}

try {
  const out = await main(process.argv.slice(2));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = out.verified ? 0 : 1;
} catch(e) {
  process.stdout.write(JSON.stringify({verified: false, errors: [String(e.message ?? e)]}) + '\n');
  process.exitCode = e instanceof UsageError || e instanceof SyntaxError || e.code === 'ENOENT' ? 2 : 1;
}
