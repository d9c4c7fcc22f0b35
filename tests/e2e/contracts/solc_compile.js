// Compile a Solidity standard-JSON input read from stdin with solc-js, which `make test` installs into
// .tools/node_modules; the standard-JSON output goes to stdout.
const path = require("path");
const solc = require(path.join(__dirname, "..", "..", "..", ".tools", "node_modules", "solc"));
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => process.stdout.write(solc.compile(input)));
