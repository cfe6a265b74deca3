// check-status.mjs: reads and writes Bitstring Status Lists with Digital
// Bazaar's @digitalbazaar/vc-bitstring-status-list, an implementation
// independent of Touchstone's credential/status package.
//
//   node check-status.mjs <listCredential.json> <index>
//     decodes the list credential's credentialSubject.encodedList and prints
//     {"length": <bits>, "set": <bit at index>}
//   node check-status.mjs encode <length> <i,j,k>
//     makes a list of <length> bits with the listed bits set (the list may be
//     empty: "") and prints {"encodedList": "u…"}
//
// Prints one JSON object on stdout. Exit 0: done; 1: the library rejected the
// list or index ({"error": …}); 2: usage or input error ({"error": …}).
import {readFile} from 'node:fs/promises';
import {createList, decodeList} from '@digitalbazaar/vc-bitstring-status-list';

function print(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

function fail(code, message) {
  print({error: message});
  process.exit(code);
}

// parseNatural returns the non-negative integer written in s, or undefined.
function parseNatural(s) {
  if(!/^[0-9]+$/.test(s)) {
    return undefined;
  }
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

async function encode(lengthArg, indexesArg) {
  const length = parseNatural(lengthArg);
  if(!length) {
    fail(2, `length must be a positive integer, got ${JSON.stringify(lengthArg)}`);
  }
  const indexes = indexesArg === '' ? [] : indexesArg.split(',').map(parseNatural);
  if(indexes.some(i => i === undefined)) {
    fail(2, `indexes must be comma-separated non-negative integers, got ${JSON.stringify(indexesArg)}`);
  }
  let list;
  try {
    list = await createList({length});
    for(const i of indexes) {
      list.setStatus(i, true);
    }
  } catch(e) {
    fail(1, e.message ?? String(e));
  }
  print({encodedList: await list.encode()});
}

async function check(file, indexArg) {
  const index = parseNatural(indexArg);
  if(index === undefined) {
    fail(2, `index must be a non-negative integer, got ${JSON.stringify(indexArg)}`);
  }
  let credential;
  try {
    credential = JSON.parse(await readFile(file, 'utf8'));
  } catch(e) {
    fail(2, `cannot read ${file}: ${e.message}`);
  }
  const encodedList = credential?.credentialSubject?.encodedList;
  if(typeof encodedList !== 'string') {
    fail(2, `${file} has no credentialSubject.encodedList string`);
  }
  try {
    const list = await decodeList({encodedList});
    print({length: list.length, set: list.getStatus(index)});
  } catch(e) {
    fail(1, e.message ?? String(e));
  }
}

const args = process.argv.slice(2);
if(args.length === 3 && args[0] === 'encode') {
  await encode(args[1], args[2]);
} else if(args.length === 2) {
  await check(args[0], args[1]);
} else {
  fail(2, 'usage: node check-status.mjs <listCredential.json> <index> | encode <length> <i,j,k>');
}
