import AMQP
import Logging
import NIOPosix
import Testing

/// The broker client without a broker: commands fail after their wait, reconnection keeps trying (each failed
/// attempt frees its connection once), and stopping ends the thread.
@Suite struct AMQPClientTests {
    @Test func withNoBrokerCommandsFailAfterTheirWaitAndStopEndsTheThread() async throws {
        // A port nobody listens on: bind one, close it.
        let port = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let number = port.localAddress!.port!
        try await port.close()
        let client = AMQPClient(
            configuration: .init(
                url: try AMQPURL("amqp://guest:guest@127.0.0.1:\(number)/"), exchange: "pulsar", queues: ["q"], consume: ["q"],
                connectTimeout: .seconds(1), reconnectMinimum: .milliseconds(5), reconnectMaximum: .milliseconds(20),
                commandWait: .milliseconds(300)),
            logger: Logger(label: "test"))
        client.start()
        await #expect {
            try await client.publish(Array("{}".utf8), routingKey: "q")
        } throws: { ($0 as? AMQPError)?.code == .notConnected }
        await #expect {
            _ = try await client.inspect("q")
        } throws: { ($0 as? AMQPError)?.code == .notConnected }
        #expect(!client.isConnected)
        await client.stop()
        await #expect {
            try await client.publish(Array("{}".utf8), routingKey: "q")
        } throws: { ($0 as? AMQPError)?.code == .stopped }
    }
}
