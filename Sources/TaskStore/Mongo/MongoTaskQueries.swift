import Foundation
import TES

/// The filters, projections and updates MongoTaskStore sends. Pure: they only build documents.
enum MongoTaskQueries {
    /// Fields no view shows: MongoDB's own key, the secrets stored with a task, and its owner.
    static let hiddenFields = ["_id", secretsField, ownerField, backendField, leaseField, slotField]
    static let secretsField = "_secrets"
    static let ownerField = "_owner"
    /// The backend a task was placed on (for placement's in-flight counts).
    static let backendField = "_backend"
    /// The lease of the engine process that drives the task: `{holder, expires}`, `expires` in milliseconds since
    /// 1970 (a number compares the same in every MongoDB-wire server).
    static let leaseField = "_lease"
    static let leaseHolderField = "_lease.holder"
    static let leaseExpiresField = "_lease.expires"

    /// The job slot a task holds on its backend, `{backend, n}`, unique over the collection.
    static let slotField = "_slot"

    static func slot(_ slot: JobSlot) -> MongoJSON {
        ["backend": .string(slot.backend), "n": .int(slot.number)]
    }

    static func lease(_ lease: TaskLease) -> MongoJSON {
        ["holder": .string(lease.holder), "expires": .int(milliseconds(lease.expires))]
    }

    static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Tasks no lease covers at `now`: never leased, or expired.
    static func unleased(now: Date) -> MongoJSON {
        ["$or": [[leaseField: ["$exists": false]], [leaseExpiresField: ["$lt": .int(milliseconds(now))]]]]
    }

    /// The one task with `id`, if `owner` (when given) owns it.
    static func filter(id: String, ownedBy owner: String?) -> MongoJSON {
        guard let owner else { return ["id": .string(id)] }
        return ["id": .string(id), ownerField: .string(owner)]
    }

    /// The projection that makes a stored task into `view` (the same result as ``TESTask/projected(to:)``).
    static func projection(for view: TESView) -> MongoJSON {
        switch view {
        case .minimal:
            return ["_id": 0, "id": 1, "state": 1]
        case .basic:
            return .document(
                hiddenFields.map { ($0, 0) } + [
                    ("inputs.content", 0), ("logs.system_logs", 0), ("logs.logs.stdout", 0), ("logs.logs.stderr", 0),
                ]
            )
        case .full:
            return .document(hiddenFields.map { ($0, 0) })
        }
    }

    /// The filter of a listing: every condition of the request, and the keyset bound of the page.
    static func filter(for request: TESListRequest, ownedBy owner: String? = nil) -> MongoJSON {
        var conditions: [MongoJSON] = []
        if let owner {
            conditions.append([ownerField: .string(owner)])
        }
        if let after = request.afterID {
            conditions.append(["id": ["$lt": .string(after)]])
        }
        if let state = request.filter.state {
            conditions.append(["state": .string(state.rawValue)])
        }
        if let prefix = request.filter.namePrefix {
            conditions.append(["name": prefixRange(prefix)])
        }
        for tag in request.filter.tags {
            if let value = tag.value {
                conditions.append(["tags": ["$elemMatch": ["key": .string(tag.key), "value": .string(value)]]])
            } else {
                conditions.append(["tags.key": .string(tag.key)])
            }
        }
        switch conditions.count {
        case 0: return [:]
        case 1: return conditions[0]
        default: return ["$and": .array(conditions)]
        }
    }

    /// Options of a listing: newest first, one more than a page (to know whether another page follows).
    static func listOptions(for request: TESListRequest) -> MongoJSON {
        [
            "projection": projection(for: request.view),
            "sort": ["id": -1],
            "limit": .int(request.pageSize + 1),
        ]
    }

    /// The strings that start with `prefix`, as a range: `prefix` ≤ name < the least string above every such name.
    ///
    /// A range is literal (no pattern characters to escape), uses the name index, and compares the way MongoDB
    /// does, by code point (UTF-8 byte order).
    static func prefixRange(_ prefix: String) -> MongoJSON {
        guard let upper = successor(ofPrefix: prefix) else { return ["$gte": .string(prefix)] }
        return ["$gte": .string(prefix), "$lt": .string(upper)]
    }

    /// The least string greater than every string that starts with `prefix`: its last scalar incremented (dropping
    /// trailing U+10FFFF), or `nil` when no such string exists.
    static func successor(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if (0xD800...0xDFFF).contains(next) { next = 0xE000 }
            if let scalar = Unicode.Scalar(next) {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                view.append(scalar)
                return String(view)
            }
        }
        return nil
    }

    /// The indexes the store creates at start-up.
    ///
    /// Ids sort by creation time, so `id_unique` also serves the creation-order sort of every listing;
    /// `creation_time` serves queries by time.
    static let indexes: [(name: String, spec: MongoJSON)] = [
        index("id_unique", ["id": 1], options: [("unique", true)]),
        index("creation_time", ["creation_time": -1]),
        index("state_id", ["state": 1, "id": -1]),
        index("name_id", ["name": 1, "id": -1]),
        index("tags_id", ["tags.key": 1, "tags.value": 1, "id": -1]),
        // Partial: tasks without an owner (no authentication) add nothing to it.
        index("owner_id", [ownerField: 1, "id": -1], options: [("partialFilterExpression", [ownerField: ["$exists": true]])]),
        index("backend_state", [backendField: 1, "state": 1], options: [("partialFilterExpression", [backendField: ["$exists": true]])]),
        // At most one task per slot of a backend: what keeps replicas placing at once within max_jobs.
        index(
            "slot_unique",
            ["_slot.backend": 1, "_slot.n": 1],
            options: [("unique", true), ("partialFilterExpression", [slotField: ["$exists": true]])]
        ),
        // Renewals find a holder's tasks by id; leases exist only on tasks being driven.
        index("lease_holder", [leaseHolderField: 1, "id": 1], options: [("partialFilterExpression", [leaseHolderField: ["$exists": true]])]),
    ]

    private static func index(
        _ name: String,
        _ key: MongoJSON,
        options: [(String, MongoJSON)] = []
    ) -> (name: String, spec: MongoJSON) {
        (name, .document([("key", key), ("name", .string(name))] + options))
    }

    /// MongoDB's codes for "an index of that name exists with other options / other keys".
    static let indexConflictCodes: Set<UInt32> = [85, 86]
}
