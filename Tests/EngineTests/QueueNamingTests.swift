import AMQP
import Pulsar
import Testing

/// The broker URL as kombu reads it (and never printed with its password), and Pulsar's queue names.
@Suite struct QueueNamingTests {
    @Test func brokerURLs() throws {
        let url = try AMQPURL("amqp://tesp:s%40cret@broker.example.org:5673/galaxy%2Fprod")
        #expect(url.host == "broker.example.org" && url.port == 5673)
        #expect(url.user == "tesp" && url.password == "s@cret")
        #expect(url.virtualHost == "galaxy/prod" && !url.isTLS)
        #expect(!url.description.contains("cret") && url.description.contains("tesp@broker.example.org:5673"))
        #expect(try AMQPURL("amqp://guest:guest@127.0.0.1:5672//").virtualHost == "/")
        #expect(try AMQPURL("amqps://h").virtualHost == "/")
        #expect(try AMQPURL("amqps://h").port == 5671)
        #expect(try AMQPURL("amqp://h").user == "guest")
        #expect(throws: AMQPError.self) { try AMQPURL("http://h") }
        #expect(throws: AMQPError.self) { try AMQPURL("amqp:///vhost") }
    }

    @Test func pulsarQueueNamesFollowTheManager() {
        #expect(PulsarQueueNames().all == ["pulsar__setup", "pulsar__kill", "pulsar__status", "pulsar__status_update"])
        #expect(PulsarQueueNames(manager: "slurm").setup == "pulsar_slurm__setup")
        #expect(PulsarQueueNames(manager: "slurm", keyPrefix: "site_b_").statusUpdate == "site_b_status_update")
    }
}
