import Auth
import Testing

@Suite struct AccessRulesTests {
    let alice = Principal(subject: "alice")
    let admin = Principal(subject: "root")
    let operatorInGroup = Principal(subject: "carol", groups: ["staff", "tes-admins"])

    @Test func allShowsEveryTaskToEveryone() {
        let rules = AccessRules(policy: .all, adminSubjects: ["root"])
        #expect(rules.ownerScope(for: alice) == nil)
        #expect(rules.ownerScope(for: nil) == nil)
    }

    @Test func ownerLimitsEveryoneToTheirOwnTasksEvenAdmins() {
        let rules = AccessRules(policy: .owner, adminSubjects: ["root"])
        #expect(rules.ownerScope(for: alice) == "alice")
        #expect(rules.ownerScope(for: admin) == "root")
    }

    @Test func ownerOrAdminLetsAdminsBySubjectOrGroupSeeEverything() {
        let rules = AccessRules(policy: .ownerOrAdmin, adminSubjects: ["root"], adminGroups: ["tes-admins"])
        #expect(rules.ownerScope(for: alice) == "alice")
        #expect(rules.ownerScope(for: admin) == nil)
        #expect(rules.ownerScope(for: operatorInGroup) == nil)
        #expect(rules.ownerScope(for: Principal(subject: "dave", groups: ["staff"])) == "dave")
    }

    @Test func anonymousCallersAreNotLimited() {
        // Without authentication there is no owner to compare with: every task is everyone's.
        #expect(AccessRules(policy: .owner).ownerScope(for: nil) == nil)
    }
}
