"""Status list entries for new credentials: allocated in short transactions, safe across
threads and API worker processes (one conditional `UPDATE ... RETURNING` per list)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from node.credentials.status_list import STATUS_SIZE, first_allocatable
from node.did.hosting import signing_identity
from node.store.db import Database
from node.store.models import Institution, StatusList

#: Open the next list once a list is this full, so allocation never waits for one.
PREALLOCATE_AT = 0.9


class StatusAllocator:
    """Hands out (list number, index) slots of an institution's 2-bit status lists."""

    def __init__(self, db: Database, capacity: int) -> None:
        self.db = db
        self.capacity = capacity

    def allocate(self, institution: Institution, count: int) -> list[tuple[int, int]]:
        """Reserve `count` status entries, opening new lists as they fill.

        Each reservation is one conditional `UPDATE ... RETURNING` (the database adds to the
        counter only while the list has room), so concurrent issuers in threads or in several API
        processes can never receive the same index.
        """

        def reserve(session: Session) -> list[tuple[int, int]]:
            slots: list[tuple[int, int]] = []
            while len(slots) < count:
                list_id, number, capacity, used = self._list_with_room(session, institution)
                take = min(count - len(slots), capacity - used)
                claimed = session.execute(
                    update(StatusList)
                    .where(
                        col(StatusList.id) == list_id,
                        col(StatusList.next_index) + take <= col(StatusList.capacity),
                    )
                    .values(next_index=col(StatusList.next_index) + take)
                    .returning(col(StatusList.next_index))
                ).first()
                if claimed is None:
                    continue  # another issuer filled it meanwhile: look again
                end = int(claimed[0])
                slots.extend((number, index) for index in range(end - take, end))
                if end >= capacity * PREALLOCATE_AT:
                    self._ensure_list(session, institution, number + 1)
            return slots

        return self.db.retrying(reserve)

    def _list_with_room(
        self, session: Session, institution: Institution
    ) -> tuple[int, int, int, int]:
        """(id, number, capacity, used) of the lowest 2-bit list with room, creating one if none
        (1-bit lists from before the message design are never allocated from again).

        Only lists signed under the DID the institution issues as now qualify: a verifier
        requires a credential and its status list to name the same issuer (docs/did-web.md).
        """
        issuer = signing_identity(institution).did
        query = (
            select(
                StatusList.id, StatusList.list_number, StatusList.capacity, StatusList.next_index
            )
            .where(
                StatusList.institution_id == institution.id,
                StatusList.status_size == STATUS_SIZE,
                col(StatusList.next_index) < col(StatusList.capacity),
                func.coalesce(col(StatusList.issuer), institution.did) == issuer,
            )
            .order_by(col(StatusList.list_number))
            .limit(1)
        )
        found = session.exec(query).first()
        if found is None:
            last = session.exec(
                select(StatusList.list_number)
                .where(StatusList.institution_id == institution.id)
                .order_by(col(StatusList.list_number).desc())
            ).first()
            self._ensure_list(session, institution, 0 if last is None else last + 1)
            found = session.exec(query).first()
        assert found is not None and found[0] is not None
        return found[0], found[1], found[2], found[3]

    def _ensure_list(self, session: Session, institution: Institution, number: int) -> None:
        exists = session.exec(
            select(StatusList.id).where(
                StatusList.institution_id == institution.id, StatusList.list_number == number
            )
        ).first()
        if exists is None:
            session.add(
                StatusList(
                    institution_id=institution.id,  # type: ignore[arg-type]
                    list_number=number,
                    capacity=self.capacity,
                    next_index=first_allocatable(self.capacity),
                    status_size=STATUS_SIZE,
                    issuer=signing_identity(institution).did,
                )
            )
            session.flush()
