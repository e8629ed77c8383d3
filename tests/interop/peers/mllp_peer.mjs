// An independent MLLP receiver built on @medplum/hl7's Hl7Server, for the delivery tests.
//
//   node mllp_peer.mjs MODE   (MODE: enhanced | ae-every-N | drop-every-N)
//
// Prints "LISTENING <port>" once listening on 127.0.0.1 (a free port), then one line
// "RECEIVED <MSH-10>" per complete message it read, before it answers:
//   enhanced     a commit ACK (CA, sent by medplum's enhanced mode), then the application's AA
//   ae-every-N   AA, but AE to every N-th message
//   drop-every-N AA, but every N-th message it reads whole and drops the connection in the
//                middle of the acknowledgement frame (the sender cannot know it arrived)
import { Hl7Server } from '@medplum/hl7';

const mode = process.argv[2] ?? 'enhanced';
const every = Number(mode.split('-').pop()) || 0;
let count = 0;

const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => {
    const header = message.getSegment('MSH');
    const controlId = header?.getField(10)?.toString() ?? '';
    if (message.getSegment('MSA')) return; // our commit ACK to an application ACK
    count += 1;
    process.stdout.write(`RECEIVED ${controlId}\n`);
    if (mode.startsWith('drop') && count % every === 0) {
      const ack = message.buildAck({ ackCode: 'AA' }).toString();
      connection.socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack.slice(0, 20))]));
      connection.socket.destroy();
      return;
    }
    const code = mode.startsWith('ae') && count % every === 0 ? 'AE' : 'AA';
    connection.send(message.buildAck({ ackCode: code }));
  });
  connection.addEventListener('error', () => {});
});

await server.start(0, 'utf-8', mode === 'enhanced');
process.stdout.write(`LISTENING ${server.server.address().port}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.stop({ forceDrainTimeoutMs: 100 }).finally(() => process.exit(0)));
}
