import TES
import Testing

@Suite struct TESStateTests {
    @Test func terminalStatesRefuseEveryMove() {
        for from in TESState.allCases where from.isTerminal {
            for to in TESState.allCases { #expect(!from.canMove(to: to), "\(from) -> \(to)") }
        }
        #expect(Set(TESState.allCases.filter(\.isTerminal)) == [.complete, .executorError, .systemError, .canceled, .preempted])
    }

    @Test func theNormalLifecycleIsAllowed() {
        #expect(TESState.queued.canMove(to: .initializing))
        #expect(TESState.initializing.canMove(to: .running))
        #expect(TESState.running.canMove(to: .complete))
        #expect(TESState.running.canMove(to: .executorError))
        #expect(TESState.canceling.canMove(to: .canceled))
        #expect(!TESState.queued.canMove(to: .complete))
        #expect(!TESState.canceling.canMove(to: .complete))
        #expect(!TESState.running.canMove(to: .queued))
    }

    @Test func cancelMovesQueuedStraightToCanceledAndActiveTasksToCanceling() {
        #expect(TESState.queued.stateAfterCancel == .canceled)
        #expect(TESState.initializing.stateAfterCancel == .canceling)
        #expect(TESState.running.stateAfterCancel == .canceling)
        #expect(TESState.canceling.stateAfterCancel == nil)
        for state in TESState.allCases where state.isTerminal { #expect(state.stateAfterCancel == nil) }
        for state in TESState.allCases {
            if let next = state.stateAfterCancel { #expect(state.canMove(to: next)) }
        }
    }
}
