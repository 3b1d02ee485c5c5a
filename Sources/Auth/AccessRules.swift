/// Which tasks a caller may see and cancel. Pure: no I/O.
public struct AccessRules: Sendable, Equatable {
    /// How tasks are shared between callers.
    public enum Policy: String, Sendable, CaseIterable {
        /// Every caller sees every task.
        case all
        /// Callers see only the tasks they created.
        case owner
        /// Callers see the tasks they created; admins see every task.
        case ownerOrAdmin = "owner-or-admin"
    }

    public var policy: Policy
    /// Subjects that are admins.
    public var adminSubjects: Set<String>
    /// Group claim values that make a caller an admin.
    public var adminGroups: Set<String>

    public init(policy: Policy, adminSubjects: Set<String> = [], adminGroups: Set<String> = []) {
        self.policy = policy
        self.adminSubjects = adminSubjects
        self.adminGroups = adminGroups
    }

    /// Everyone sees everything: what a server without authentication does.
    public static let open = AccessRules(policy: .all)

    public func isAdmin(_ principal: Principal) -> Bool {
        adminSubjects.contains(principal.subject) || principal.groups.contains(where: adminGroups.contains)
    }

    /// The owner whose tasks `principal` is limited to, or `nil` when it may see every task.
    ///
    /// An anonymous caller (no authentication configured) is not limited: there is no owner to compare with.
    public func ownerScope(for principal: Principal?) -> String? {
        guard let principal else { return nil }
        switch policy {
        case .all: return nil
        case .owner: return principal.subject
        case .ownerOrAdmin: return isAdmin(principal) ? nil : principal.subject
        }
    }
}
