// Compiles contracts/src/*.sol with the npm `solc` package pinned in package.json (no compiler download)
// and OpenZeppelin Contracts from node_modules, then writes one artifact per contract into
// contracts/artifacts/ plus build-info.json with the hash of every input (see contracts/artifacts.py,
// which recomputes the same hash in Python so a test can tell when the artifacts are stale).
//
// Usage: node contracts/build.mjs            (from anywhere)
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const require = createRequire(import.meta.url);
const solc = require(path.join(root, "node_modules/solc"));

const SOURCE_DIR = path.join(here, "src");
const ARTIFACT_DIR = path.join(here, "artifacts");
// Contracts written out as artifacts (everything else in the output is a library or an interface).
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "storageLayout"] },
  },
};

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// contracts/src/*.sol, and test doubles in contracts/src/testing/*.sol.
const sources = {};
for (const name of readdirSync(SOURCE_DIR, { recursive: true }).sort()) {
  if (name.endsWith(".sol")) {
    const unit = `src/${name.split(path.sep).join("/")}`;
    sources[unit] = { content: readFileSync(path.join(SOURCE_DIR, name), "utf8") };
  }
}

const findImports = (importPath) => {
  if (importPath.startsWith("@openzeppelin/")) {
    return { contents: readFileSync(path.join(root, "node_modules", importPath), "utf8") };
  }
  return { error: `import not found: ${importPath}` };
};

const input = { language: "Solidity", sources, settings: SETTINGS };
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) {
  // OpenZeppelin's own warnings (transient storage in ReentrancyGuardTransient) are known and expected.
  if (e.severity !== "error" && e.sourceLocation?.file?.startsWith("@openzeppelin/")) continue;
  console.error(e.formattedMessage);
}
if (errors.length > 0) {
  process.exit(1);
}

// Every source unit the compiler used, with the file's hash: our sources, this script, and OpenZeppelin's.
const inputs = {};
for (const unit of Object.keys(output.sources).sort()) {
  const file = unit.startsWith("@openzeppelin/")
    ? path.join("node_modules", unit)
    : path.join("contracts", unit);
  inputs[file] = sha256(readFileSync(path.join(root, file), "utf8"));
}
inputs["contracts/build.mjs"] = sha256(readFileSync(fileURLToPath(import.meta.url), "utf8"));
const ozVersion = JSON.parse(
  readFileSync(path.join(root, "node_modules/@openzeppelin/contracts/package.json"), "utf8"),
).version;
const solcVersion = solc.version();
// Canonical text hashed by both this script and contracts/artifacts.py: one "path sha256" line per file
// in sorted order, then the compiler and OpenZeppelin versions.
const canonical =
  Object.keys(inputs)
    .sort()
    .map((file) => `${file} ${inputs[file]}\n`)
    .join("") + `solc ${solcVersion}\nopenzeppelin ${ozVersion}\n`;

rmSync(ARTIFACT_DIR, { recursive: true, force: true });
mkdirSync(ARTIFACT_DIR, { recursive: true });
const written = [];
for (const unit of Object.keys(output.contracts).sort()) {
  if (!unit.startsWith("src/")) continue;
  for (const [name, contract] of Object.entries(output.contracts[unit])) {
    const bytecode = contract.evm.bytecode.object;
    if (!bytecode) continue; // interfaces and abstract contracts
    const artifact = {
      contractName: name,
      sourceName: `contracts/${unit}`,
      abi: contract.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      // Slot of every state variable: contracts/README.md explains which ones a purchase writes.
      storageLayout: contract.storageLayout.storage.map(({ label, slot, offset, type }) => ({
        label,
        slot: Number(slot),
        offset,
        type,
      })),
    };
    writeFileSync(path.join(ARTIFACT_DIR, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    written.push(name);
  }
}
const buildInfo = {
  solcVersion,
  openzeppelinVersion: ozVersion,
  settings: SETTINGS,
  contracts: written,
  inputs,
  sourcesHash: sha256(canonical),
};
writeFileSync(path.join(ARTIFACT_DIR, "build-info.json"), JSON.stringify(buildInfo, null, 2) + "\n");
console.log(`compiled ${written.join(", ")} with solc ${solcVersion}; sources hash ${buildInfo.sourcesHash}`);
