"""What the trader writes to its journal, recorded in memory (the real journal has its own tests)."""


class JournalRecorder:
    def __init__(self):
        self.log = []

    def intent(self, key):
        self.log.append(("I", key))

    def reply(self, key, value):
        self.log.append(("R", key, value))
