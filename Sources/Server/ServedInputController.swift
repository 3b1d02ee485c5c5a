import Engine
import Foundation
import Hummingbird
import Logging
import NIOCore
import TES
import TaskStore
import Transfer

/// Serves one FILE input of a running task to the backend running it, streamed from its source: what a backend that
/// stages its own inputs fetches when it may not be given the input's credentials (see ``ServedInputURLs``).
///
/// The URL's signature is the only authentication (a backend has no TES identity); it names one input of one task,
/// expires, and stops working when the task finishes. Nothing is written to TESP's disk.
struct ServedInputController<Context: RequestContext, Store: TaskStore> {
    let store: Store
    let urls: ServedInputURLs
    let transfers: Transfers

    func addRoutes(to router: Router<Context>) {
        router.get(RouterPath(ServedInputURLs.pathPrefix + "/{id}/inputs/{index}"), use: serve)
    }

    @Sendable func serve(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let query = request.uri.queryParameters
        guard let index = context.parameters.get("index", as: Int.self),
            let expires = query.get("expires", as: Int.self),
            let signature = query.get("signature"),
            urls.isValid(taskID: id, input: index, expires: expires, signature: signature, now: Date())
        else {
            throw APIError(.forbidden, "this input URL is not valid: its signature does not match or it has expired")
        }
        let task = try await store.get(id: id, view: .full, ownedBy: nil)
        if let state = task.state, state.isTerminal {
            throw APIError(.gone, "task \(id) is \(state.rawValue): its inputs are no longer served")
        }
        let inputs = task.inputs ?? []
        guard inputs.indices.contains(index), inputs[index].type != .directory, let text = inputs[index].url, let stored = StorageURL(text) else {
            throw APIError(.notFound, "task \(id) has no FILE input \(index) with a URL")
        }
        let secrets = try await store.secrets(id: id)
        let url = TaskCredentials.restoringQuery(of: stored, from: secrets)
        let secret = secrets[TaskCredentials.key(for: url)]
        let field = "inputs[\(index)]"
        // Asked first, so that a missing file or a refused login is an error status, not a broken body.
        let size: Int64?
        do {
            size = try await transfers.checkedSize(of: url, secret: secret)
        } catch {
            context.logger.warning("Served input unavailable", metadata: ["tes.task.id": "\(id)", "input": "\(field)", "error": "\(error)"])
            throw APIError(error.code == .notFound ? .notFound : .badGateway, "\(field): \(error)")
        }
        context.logger.info("Serving an input to a backend", metadata: ["tes.task.id": "\(id)", "input": "\(field)", "transfer.url": "\(stored)"])
        let transfers = transfers
        let logger = context.logger
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        let body = ResponseBody(contentLength: size.map(Int.init)) { writer in
            let sent: Int64
            do {
                sent = try await transfers.stream(url, secret: secret) { chunk in try await writer.write(chunk) }
            } catch {
                // The status is sent: dropping the connection is how the backend learns that the body is short.
                logger.warning("Serving an input failed", metadata: ["tes.task.id": "\(id)", "input": "\(field)", "error": "\(error)"])
                throw error
            }
            if let size, sent != size {
                logger.warning("Served input changed size", metadata: ["tes.task.id": "\(id)", "input": "\(field)", "expected": "\(size)", "sent": "\(sent)"])
                throw TransferError(.failed, "\(field): \(stored) is \(sent) bytes, not the \(size) its server announced")
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
