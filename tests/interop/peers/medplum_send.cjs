// An independent HL7 sender: @medplum/hl7's MLLP client. Reads {"host", "port", "messages": [ER7]}
// as JSON on stdin, sends each and waits for its ACK, prints [{"control_id", "ack"}] as JSON.
const { Hl7Client } = require("@medplum/hl7");
const { Hl7Message } = require("@medplum/core");

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { host, port, messages } = JSON.parse(input);
  const client = new Hl7Client({ host, port, encoding: "utf-8" });
  const results = [];
  try {
    for (const text of messages) {
      const message = Hl7Message.parse(text);
      const ack = await client.sendAndWait(message, { timeoutMs: 20000 });
      results.push({
        control_id: message.getSegment("MSH").getField(10).toString(),
        ack: ack.toString(),
        code: ack.getSegment("MSA").getField(1).toString(),
      });
    }
  } finally {
    await client.close();
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
